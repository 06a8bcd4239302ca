"""The meeting brief (contract §7) and the public disclosure, read back from the PDF: every
critical alert's place and gap as ``hmb check`` gives them, the figures of ``hmb metrics``, no
other county in a county's brief, fonts embedded, at most six pages, the same bytes twice; the
disclosure's small cells suppressed; the brief mailed through a local SMTP server; bad input
refused with a bilingual message and exit code 2."""

from __future__ import annotations

import email
import io
import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from email.message import Message
from pathlib import Path
from typing import Any

import pypdf
import pytest
from aiosmtpd.controller import Controller

from hmb.cli.main import main
from hmb.core.counties import counties, county_name
from hmb.core.formatting import percent
from hmb.core.settings import settings
from hmb.ingest.dataset import open_dataset
from hmb.report.brief import brief_content, brief_scope, gap_text, make_brief, page_count
from hmb.report.disclosure import suppressed_codes
from hmb.rulebook.profiles import load_profile
from hmb.state.audit import AuditTrail
from hmb.tools.demo import ensure_demo
from tests.builders import CliResult

PROFILES = ("hunan-2024", "nantong-2021", "sanming-2024", "shenyang-2021", "wenzhou-2021")


def run(capsys: pytest.CaptureFixture[str], *args: object) -> CliResult:
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    captured = capsys.readouterr()
    result = CliResult(code, captured.out, captured.err)
    assert "Traceback" not in result.text
    return result


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("HMB_STATE_DIR", str(folder))
    monkeypatch.setenv("USER", "ops.chen")
    return folder


def demo(profile: str) -> Path:
    return ensure_demo(profile, settings().demo_dir)


def pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages)


def squeeze(text: str) -> str:
    """Text without the spaces and line breaks a PDF adds or drops at line ends."""
    return "".join(text.split())


def check_json(capsys: pytest.CaptureFixture[str], folder: Path, profile: str) -> dict[str, Any]:
    result = run(capsys, "check", folder, "--profile", profile, "--format", "json")
    assert result.code == 0, result.text
    parsed: dict[str, Any] = json.loads(result.out)
    return parsed


def metrics_json(capsys: pytest.CaptureFixture[str], folder: Path,
                 profile: str) -> dict[str, Any]:
    result = run(capsys, "metrics", folder, "--profile", profile, "--format", "json")
    assert result.code == 0, result.text
    parsed: dict[str, Any] = json.loads(result.out)
    return parsed


def latest_year(metrics: dict[str, Any]) -> int:
    return max(row["policy_year"] for row in metrics["participation"])


@pytest.mark.parametrize("profile", PROFILES)
def test_the_brief_states_every_critical_alert_of_the_year_with_place_and_gap(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, state: Path, profile: str
) -> None:
    folder = demo(profile)
    out = tmp_path / "brief.pdf"
    result = run(capsys, "brief", folder, "--profile", profile, "--out", out)
    assert result.code == 0, result.text
    text = squeeze(pdf_text(out))
    checked = check_json(capsys, folder, profile)
    measured = metrics_json(capsys, folder, profile)
    year = latest_year(measured)
    critical = [a for a in checked["alerts"]
                if a["severity"] == "critical" and a["scope"]["policy_year"] == year]
    for alert in critical:
        code = alert["scope"]["county_code"]
        place = county_name(code) if code else load_profile(profile).jurisdiction.name_zh
        assert squeeze(f"{place}") in text, alert["id"]
        assert squeeze(alert["message_zh"]) in text, alert["id"]  # the engine's words
        assert squeeze(f"{abs(alert['gap']):.2f}") in text or alert["gap_unit"] != "pp"
        assert squeeze(alert["citation"]["clause"] or "") in text
    # The headline figures are hmb metrics' own: participation rate and enrolled of the year.
    whole = next(r for r in measured["participation"]
                 if r["policy_year"] == year and r["county_code"] is None)
    assert percent(whole["rate"]) in text
    assert f"{whole['enrolled']:,}人" in text
    # Every page's footer: as-of date, data fingerprint, rulebook version.
    reader = pypdf.PdfReader(out)
    for page in reader.pages:
        page_text = squeeze(page.extract_text())
        assert checked["data_fingerprint"] in page_text
        assert checked["rulebook_version"] in page_text
        assert checked["as_of"] in page_text
    assert len(reader.pages) <= 6


def test_the_gap_is_in_the_regulators_units() -> None:
    from hmb.judge.alerts import Alert, Citation, Scope  # noqa: PLC0415

    def alert(gap: float, unit: Any, **details: Any) -> Alert:
        return Alert("p", "r", "critical", Scope(2024, "350421"), 0.1, 0.2, gap, unit, "", "",
                     Citation("d", None, None), details=details)

    assert gap_text(alert(-8.5496, "pp", shortfall_people=224), "zh") == "8.55 个百分点 · 224 人"
    assert gap_text(alert(9.0, "pp", excess_amount=144_500.0), "zh") == "9.00 个百分点 · 14.45 万元"
    assert gap_text(alert(-8.5496, "pp"), "en") == "8.55 pp"


def test_a_county_brief_names_no_other_county(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, state: Path
) -> None:
    folder = demo("sanming-2024")
    out = tmp_path / "county.pdf"
    result = run(capsys, "brief", folder, "--profile", "sanming-2024", "--county", "350421",
                 "--out", out)
    assert result.code == 0, result.text
    text = squeeze(pdf_text(out))
    assert "明溪县" in text
    others = [c for c in counties("350400") if c.code != "350421"]
    assert len(others) >= 10
    for other in others:
        assert other.name_zh not in text, other.name_zh
        assert other.code not in text, other.code
    # Her figures are her county's, as hmb metrics gives them.
    measured = metrics_json(capsys, folder, "sanming-2024")
    year = latest_year(measured)
    hers = next(r for r in measured["participation"]
                if r["policy_year"] == year and r["county_code"] == "350421")
    assert percent(hers["rate"]) in text
    whole = next(r for r in measured["participation"]
                 if r["policy_year"] == year and r["county_code"] is None)
    assert percent(whole["rate"]) not in text


def test_fonts_are_embedded_and_the_same_brief_is_the_same_bytes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, state: Path
) -> None:
    folder = demo("hunan-2024")
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    for out in (first, second):
        assert run(capsys, "brief", folder, "--profile", "hunan-2024", "--out", out).code == 0
    assert first.read_bytes() == second.read_bytes()
    reader = pypdf.PdfReader(first)
    fonts = 0
    for page in reader.pages:
        for reference in page["/Resources"]["/Font"].values():
            font = reference.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts += 1
    assert fonts >= 1
    assert len(reader.pages) <= 6
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points


def test_the_english_brief_is_english(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, state: Path
) -> None:
    out = tmp_path / "en.pdf"
    result = run(capsys, "brief", demo("sanming-2024"), "--profile", "sanming-2024",
                 "--lang", "en", "--out", out)
    assert result.code == 0, result.text
    text = pdf_text(out)
    assert "Headline figures" in text and "Critical alerts" in text
    assert "主要指标" not in text


def test_each_brief_is_audited_and_the_next_compares_with_the_last_on_other_figures(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, state: Path
) -> None:
    folder = demo("sanming-2024")
    earlier, later = tmp_path / "earlier.pdf", tmp_path / "later.pdf"
    assert run(capsys, "brief", folder, "--profile", "sanming-2024", "--as-of", "2024-06-30",
               "--year", "2024", "--out", earlier).code == 0
    assert "此前没有" in squeeze(pdf_text(earlier))
    assert run(capsys, "brief", folder, "--profile", "sanming-2024", "--year", "2024",
               "--out", later).code == 0
    text = squeeze(pdf_text(later))
    assert "上次简报：统计截至2024-06-30" in text
    events = [e for e in AuditTrail().read(actions=("export",)) if e.details["kind"] == "brief"]
    assert [e.details["as_of"] for e in events] == ["2024-06-30", "2025-03-31"]
    assert all(len(e.details["figures_fingerprint"]) == 16 for e in events)
    assert events[-1].details["file"] == "later.pdf" and events[-1].username == "ops.chen"


def test_the_disclosure_suppresses_a_small_cell(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, state: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = demo("sanming-2024")
    measured = metrics_json(capsys, folder, "sanming-2024")
    year = latest_year(measured)
    rows = [r for r in measured["participation"]
            if r["policy_year"] == year and r["county_code"] is not None]
    smallest = min(rows, key=lambda r: r["enrolled"])
    # A minimum just above the smallest county: that county, and the next smallest, are hidden.
    monkeypatch.setenv("HMB_DISCLOSURE_MIN_COUNT", str(smallest["enrolled"] + 1))
    out = tmp_path / "public.pdf"
    result = run(capsys, "disclosure", folder, "--profile", "sanming-2024", "--out", out)
    assert result.code == 0, result.text
    text = squeeze(pdf_text(out))
    assert f"<{smallest['enrolled'] + 1}" in text
    assert f"{smallest['enrolled']:,}" not in text.replace(f"<{smallest['enrolled'] + 1}", "")
    assert percent(smallest["rate"]) not in text
    assert "参保情况" in text and "结算情况" in text and "收支情况" in text


def test_one_suppressed_cell_takes_the_next_smallest_with_it() -> None:
    assert suppressed_codes({"a": 3, "b": 50, "c": 40}, 10) == {"a", "c"}
    assert suppressed_codes({"a": 3, "b": 5, "c": 40}, 10) == {"a", "b"}
    assert suppressed_codes({"a": 30, "b": 50}, 10) == set()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (the controller checks it can connect to it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_the_brief_is_mailed_through_the_configured_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, state: Path,
    monkeypatch: pytest.MonkeyPatch, smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    monkeypatch.setenv("HMB_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HMB_SMTP_PORT", str(port))
    monkeypatch.setenv("HMB_SMTP_STARTTLS", "false")
    monkeypatch.setenv("HMB_MAIL_FROM", "hmb@ybj.example.gov.cn")
    out = tmp_path / "brief.pdf"
    result = run(capsys, "brief", demo("sanming-2024"), "--profile", "sanming-2024",
                 "--out", out, "--mail-to", "zhuanban@example.gov.cn")
    assert result.code == 0, result.text
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "zhuanban@example.gov.cn"
    attachments = [p for p in message.walk() if p.get_filename() == "brief.pdf"]
    assert len(attachments) == 1
    assert attachments[0].get_payload(decode=True) == out.read_bytes()


def test_mailing_without_a_server_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, state: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HMB_SMTP_HOST", raising=False)
    result = run(capsys, "brief", demo("sanming-2024"), "--profile", "sanming-2024",
                 "--out", tmp_path / "b.pdf", "--mail-to", "x@example.gov.cn")
    assert result.code == 2
    assert "HMB_SMTP_HOST" in result.err and "未配置" in result.err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (("--county", "430102"), ("不是三明市的区县代码", "is not a county of Sanming")),
        (("--year", "1999"), ("没有该保单年度", "is not in the data")),
        (("--out", "missing/brief.pdf"), ("不存在", "does not exist")),
        (("--out", "."), ("是一个文件夹", "is a folder")),
    ],
)
def test_bad_input_is_refused_in_two_languages_with_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, state: Path,
    monkeypatch: pytest.MonkeyPatch, *, extra: tuple[str, ...], expected: tuple[str, str],
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["brief", demo("sanming-2024"), "--profile", "sanming-2024"]
    if "--out" not in extra:
        args += ["--out", "brief.pdf"]
    result = run(capsys, *args, *extra)
    assert result.code == 2, result.text
    for words in expected:
        assert words in result.err
    assert not (tmp_path / "brief.pdf").exists()


def test_a_brief_with_very_many_alerts_still_keeps_to_six_pages(state: Path) -> None:
    """A province where every county breaches: hundreds of verdicts are set more tightly, all
    of them still there."""
    profile = load_profile("hunan-2024")
    dataset = open_dataset(demo("hunan-2024"), profile.liability_codes)
    assert dataset.default_as_of is not None
    brief = brief_content(profile, dataset, dataset.default_as_of, 2026, brief_scope(None))
    names = [c.name_zh for c in counties("430000")]
    rows = [[f"{name}（{i}）",
             f"湖南省2026年度 {name} 参保率为 10.00%，低于规定的 20.00%（差 10.00 个百分点）。"
             f"还需参保 {i:,} 人才能达到 20.00%。",
             f"10.00 个百分点 · {i} 人"]
            for i, name in enumerate(names * 2)]
    group = {"rule_id": "county_participation", "title": "各县参保率", "basis": "依据 某文件 一",
             "quote": "参保率不低于 20%", "local": "", "rows": rows}
    alerts = {**brief.content["alerts"], "groups": [group]}
    crowded = replace(brief, content={**brief.content, "alerts": alerts})
    pdf = make_brief(crowded)
    assert page_count(pdf) <= 6
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == page_count(pdf)
    text = squeeze("".join(page.extract_text() for page in reader.pages))
    assert all(squeeze(row[1]) in text for row in rows)  # each verdict names its place
