"""The meeting brief downloaded from the overview as each role, in a real browser: a PDF whose
text holds the brief's headings, and for the county supervisor her county and no other
(docs/brief.md). Uses the helpers and fixtures of test_browser.py and conftest.py."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest
from playwright.sync_api import Page, expect

from dashboard.i18n import t
from hmb.core.counties import counties
from tests.browser.test_browser import ERRORS, SANMING, YOUXI, open_app, wait_idle

pytestmark = pytest.mark.browser

ROLES = ("demo-admin", "demo-city", "demo-county", "demo-finance", "demo-leader")


@pytest.mark.parametrize("user", ROLES)
def test_the_brief_downloads_as_each_role(page: Page, tmp_path: Path, user: str) -> None:
    open_app(page, "/", user=user, j=SANMING)
    button = page.locator(".st-key-brief_download").get_by_role("button")
    expect(button).to_have_text(t("brief_download", "zh"))
    with page.expect_download(timeout=60_000) as info:
        button.click()
    download = info.value
    assert download.suggested_filename.startswith("brief-sanming-2024-")
    assert download.suggested_filename.endswith(".pdf")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    reader = pypdf.PdfReader(target)
    assert 1 <= len(reader.pages) <= 6
    text = "".join("".join(p.extract_text() for p in reader.pages).split())
    assert "工作专班简报" in text and "主要指标" in text
    if user == "demo-county":
        assert "尤溪县" in text
        leaked = [c.name_zh for c in counties("350400") if c.code != YOUXI and c.name_zh in text]
        assert leaked == []
    else:
        assert all(c.name_zh in text for c in counties("350400"))  # the whole city's ranking
    wait_idle(page)
    assert page.locator(ERRORS).count() == 0
