"""The app and the export register (docs/ingest.md): the newest export of a jurisdiction is shown
without a restart, the history is listed, an earlier export can be opened, the overview says what
moved since the last export, and an administrator ingests a server folder under HMB_INGEST_ROOT
(and nothing else)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import session
from dashboard.session import TOKEN_KEY
from dashboard.view import VIEW_KEY
from hmb.access import auth
from hmb.state.exports import ExportRegister
from tests.builders import claim_row, clean_tables, enrollment_row, run_cli, write_folder

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
PROFILE = "sanming-2024"
EXPORT_KEY = f"export-{PROFILE}"


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A state folder of the test's own (the register and the accounts start empty)."""
    monkeypatch.setenv("HMB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HMB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("USER", "clerk")
    yield tmp_path / "state"


def _months(root: Path) -> tuple[Path, Path]:
    """May, and June with one member more in 350403 and her claim paid 500."""
    may = write_folder(root, **clean_tables(), name="may")
    tables = clean_tables()
    tables["enrollment"].append(enrollment_row(member_id="B1", county_code="350403"))
    tables["claims"].append(claim_row(member_id="B1", claim_id="C9", county_code="350403",
                                      paid_amount=500.0))
    june = write_folder(root, **tables, name="june")
    return may, june


def _ingest(folder: Path) -> None:
    result = run_cli("ingest", folder, "--profile", PROFILE)
    assert result.code == 0, result.err


def _admin() -> AppTest:
    users = auth.UserStore()
    user = users.get("bureau-admin") or users.add(
        "bureau-admin", "admin", (), "a bureau's own long password")
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[TOKEN_KEY] = users.issue_token(user)
    at.query_params["j"] = PROFILE
    return at


def _shown(at: AppTest) -> Any:
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state[VIEW_KEY]


def test_the_newest_export_is_shown_without_a_restart(tmp_path: Path) -> None:
    may, june = _months(tmp_path)
    _ingest(may)
    at = _admin().run()
    view = _shown(at)
    assert view.export.id == 1 and view.folder == may.resolve()
    assert at.sidebar.selectbox(key="j").value == PROFILE
    assert "#1" in at.sidebar.selectbox(key="j").format_func(PROFILE)
    _ingest(june)  # next month's export arrives while the session is open
    view = _shown(at.run())
    assert view.export.id == 2 and view.folder == june.resolve()
    # The overview says what moved since the last export.
    shown = "\n".join(e.value for e in at.info)
    assert "自上期数据以来" in shown
    assert "已付赔款" in shown or "claims" in shown.lower()
    assert "0.10 万元 → 0.15 万元" in shown


def test_an_earlier_export_can_be_opened_and_the_history_is_listed(tmp_path: Path) -> None:
    may, june = _months(tmp_path)
    _ingest(may)
    _ingest(june)
    at = _admin().run()
    assert _shown(at).export.id == 2
    at.sidebar.selectbox(key=EXPORT_KEY).set_value(1).run()
    view = _shown(at)
    assert view.export.id == 1 and view.dataset.folder == may.resolve()
    at.switch_page("dashboard/app_pages/data_quality.py").run()
    assert not at.exception, [e.value for e in at.exception]
    history = [f.value for f in at.dataframe]
    listed = next(frame for frame in history if "clerk" in frame.to_string())
    assert len(listed) == 2


def test_with_nothing_registered_the_app_shows_the_folder_of_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    may, _ = _months(tmp_path)
    monkeypatch.setenv("HMB_DATA_DIR", str(may))
    monkeypatch.setenv("HMB_PROFILE", PROFILE)
    at = _admin()
    at.query_params["j"] = f"local-{PROFILE}"
    view = _shown(at.run())
    assert view.export is None and view.folder == may


def _ingest_from_app(at: AppTest, text: str) -> AppTest:
    at.switch_page("dashboard/app_pages/data_quality.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_input(key="ingest_folder").input(text)
    button = next(b for b in at.button if b.label in ("校验并接收", "Validate and ingest"))
    return button.click().run()


def test_an_administrator_ingests_a_folder_under_the_allowed_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "deliveries"
    may, june = _months(root)
    monkeypatch.setenv("HMB_INGEST_ROOT", str(root))
    _ingest(may)
    at = _ingest_from_app(_admin().run(), "june")
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    entry = ExportRegister().current(PROFILE)
    assert entry is not None and entry.id == 2
    assert (entry.by, entry.via, entry.folder) == ("bureau-admin", "app", str(june.resolve()))
    assert _shown(at).export.id == 2  # shown at once


@pytest.mark.parametrize("how", ["dotdot", "outside", "link_out", "link_inside"])
def test_a_folder_outside_the_allowed_root_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    root = tmp_path / "deliveries"
    root.mkdir()
    may, june = _months(tmp_path / "elsewhere")
    monkeypatch.setenv("HMB_INGEST_ROOT", str(root))
    _ingest(may)
    if how == "dotdot":
        text = "../elsewhere/june"
    elif how == "outside":
        text = str(june)
    elif how == "link_out":
        os.symlink(june, root / "june")
        text = "june"
    else:  # a folder under the root whose year is a link out of it
        inside = root / "july"
        inside.mkdir()
        for part in june.iterdir():
            os.symlink(part, inside / part.name)
        text = "july"
    at = _ingest_from_app(_admin().run(), text)
    assert not at.exception, [e.value for e in at.exception]
    shown = "\n".join(e.value for e in at.error)
    assert "HMB_INGEST_ROOT" in shown or "deliveries" in shown
    assert [e.id for e in ExportRegister().entries()] == [1]  # nothing registered


def test_without_an_allowed_root_the_app_offers_no_ingest(tmp_path: Path) -> None:
    may, _ = _months(tmp_path)
    _ingest(may)
    at = _admin().run()
    at.switch_page("dashboard/app_pages/data_quality.py").run()
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "ingest_folder"]
    assert any("HMB_INGEST_ROOT" in c.value for c in at.caption)


def test_demo_accounts_are_refused_once_an_export_is_registered(tmp_path: Path) -> None:
    assert session.demo_allowed()
    may, _ = _months(tmp_path)
    _ingest(may)
    assert not session.demo_allowed()
