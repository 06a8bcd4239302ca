"""``hmb ingest`` and ``hmb exports`` (contract §8): an export validated once, on arrival, its
store built and the export registered in an append-only register; re-ingesting the same files
registers nothing; a changed year is rebuilt alone; a refused export leaves the current one in
place; ``hmb exports diff`` computed by hand on a small case."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from hmb.ingest.dataset import open_dataset
from hmb.rulebook.profiles import load_profile
from hmb.state.exports import ExportRegister, verify_register
from tests.builders import (
    CliResult,
    claim_row,
    clean_tables,
    enrollment_row,
    in_jurisdiction,
    members,
    run_cli,
    write_folder,
)

PROFILE = "sanming-2024"


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A state and a cache folder of the test's own: the register starts empty."""
    monkeypatch.setenv("HMB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HMB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("USER", "clerk")
    yield tmp_path / "state"


def _ingest(folder: Path, *extra: object) -> CliResult:
    return run_cli("ingest", folder, "--profile", PROFILE, "--format", "json", *extra)


def _exports(*extra: object) -> list[dict[str, Any]]:
    result = run_cli("exports", "--format", "json", *extra)
    assert result.code == 0, result.err
    listed: list[dict[str, Any]] = result.json()
    return listed


def _two_years() -> dict[str, Any]:
    tables = clean_tables()
    for name in ("basic_insured", "insurers", "expenses"):
        tables[name] += [{**row, "policy_year": 2025} for row in tables[name]]
    tables["enrollment"] += [
        enrollment_row(member_id="A1", policy_year=2025, enroll_date="2024-12-01"),
        enrollment_row(member_id="A2", policy_year=2025, enroll_date="2024-12-01"),
    ]
    tables["claims"] += [
        claim_row(member_id="A1", claim_id="D1", policy_year=2025, service_date="2025-03-01",
                  report_date="2025-03-02", settle_date="2025-03-10"),
    ]
    return tables


def test_ingest_registers_the_export_with_its_counts(tmp_path: Path, state: Path) -> None:
    folder = write_folder(tmp_path, **clean_tables())
    result = _ingest(folder)
    assert result.code == 0, result.err
    output = result.json()
    assert output["outcome"] == "accepted" and output["registered"] is True
    (entry,) = _exports()
    assert entry == output["export"]
    assert entry["id"] == 1 and entry["profile"] == PROFILE
    assert entry["folder"] == str(folder.resolve())
    assert entry["result"] == "accepted" and entry["current"] is True
    assert entry["by"] == "clerk" and entry["via"] == "cli"
    assert entry["ingested_at"].endswith("Z")
    assert entry["ingested_at_cst"].endswith("CST")
    assert entry["tables"]["claims"] == {"rows_read": 3, "rows_accepted": 3,
                                         "rows_quarantined": 0}
    rulebook = load_profile(PROFILE)
    assert entry["fingerprint"] == open_dataset(
        folder, rulebook.liability_codes, insured_elsewhere=rulebook.insured_elsewhere
    ).fingerprint
    # The register is the owner's only.
    register = state / "exports.sqlite"
    assert stat.S_IMODE(register.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert _exports("--profile", "hunan-2024") == []


def test_metrics_after_ingest_start_warm(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **clean_tables())
    assert _ingest(folder).code == 0
    stores = set((tmp_path / "cache").glob("*.duckdb"))
    assert len(stores) == 1
    before = {p: p.stat().st_ino for p in stores}
    result = run_cli("metrics", folder, "--profile", PROFILE, "--format", "json")
    assert result.code == 0
    # No store built: the one ingest built is the one metrics reads.
    assert {p: p.stat().st_ino for p in (tmp_path / "cache").glob("*.duckdb")} == before


def test_reingesting_the_same_files_registers_nothing(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **clean_tables())
    assert _ingest(folder).code == 0
    again = _ingest(folder)
    assert again.code == 0
    assert again.json()["outcome"] == "unchanged"
    assert again.json()["registered"] is False
    assert "未重复登记" in again.err
    assert [e["id"] for e in _exports()] == [1]


def test_a_changed_year_is_rebuilt_alone_and_becomes_current(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, layout="hive", **_two_years())
    assert _ingest(folder).code == 0
    segments = {p.name for p in (tmp_path / "cache" / "segments").glob("enrollment-*.duckdb")}
    assert len(segments) == 2
    # Next month's 2025 enrolment: a new file for that year only.
    part = next((folder / "enrollment" / "policy_year=2025").glob("*.parquet"))
    pq.write_table(pq.read_table(part), part)
    os.utime(part, ns=(1, 1))
    result = _ingest(folder)
    assert result.code == 0, result.err
    assert result.json()["outcome"] == "accepted"
    after = {p.name for p in (tmp_path / "cache" / "segments").glob("enrollment-*.duckdb")}
    assert len(after - segments) == 1  # 2024's segment reused: only 2025 scanned again
    first, second = _exports()
    assert second["fingerprint"] != first["fingerprint"]
    assert (first["current"], second["current"]) == (False, True)


def _over_the_limit(root: Path) -> Path:
    tables = clean_tables()
    people = members(40)
    tables["enrollment"] += people
    claims = [claim_row(member_id=p["member_id"]) for p in people]
    for claim in claims[::2]:
        claim["report_date"] = "not a date"
    tables["claims"] += claims
    return write_folder(root, dates="string", name="broken", **tables)


def test_a_refused_export_is_registered_and_leaves_the_current_one(tmp_path: Path) -> None:
    good = write_folder(tmp_path, **clean_tables())
    assert _ingest(good).code == 0
    broken = _over_the_limit(tmp_path)
    result = _ingest(broken)
    assert result.code == 2
    assert "quarantine" not in result.out or result.json()["outcome"] == "refused"
    assert "unparseable_value" in result.err and "report_date" in result.err
    assert "当前数据保持不变" in result.err
    first, second = _exports()
    assert first["current"] is True and first["result"] == "accepted"
    assert second["result"] == "refused" and second["current"] is False
    assert second["over_limit"][0]["rule"] == "unparseable_value"
    assert second["problems"][0]["code"] == "quarantine_limit"
    assert Path(second["quarantine_dir"], "claims.csv").is_file()  # written all the same
    # Refused again, unchanged: nothing new registered, still exit 2.
    assert _ingest(broken).code == 2
    assert len(_exports()) == 2
    # Raised limit: accepted, and current.
    accepted = _ingest(broken, "--max-quarantined", "0.5")
    assert accepted.code == 0, accepted.err
    assert [e["current"] for e in _exports()] == [False, False, True]


def test_a_folder_that_cannot_be_read_is_refused_and_registered(tmp_path: Path) -> None:
    result = _ingest(tmp_path / "nowhere")
    assert result.code == 2
    (entry,) = _exports()
    assert entry["result"] == "refused" and entry["problems"][0]["code"] == "not_found"


def test_the_register_is_append_only_and_chained(tmp_path: Path, state: Path) -> None:
    folder = write_folder(tmp_path, **clean_tables())
    assert _ingest(folder).code == 0
    assert _ingest(_over_the_limit(tmp_path)).code == 2
    path = state / "exports.sqlite"
    with sqlite3.connect(path) as con:
        for statement in ("update exports set result = 'accepted' where seq = 2",
                          "delete from exports where seq = 2",
                          "insert or replace into exports select * from exports where seq = 1"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(statement)
    assert verify_register(path).intact
    assert run_cli("exports", "verify").code == 0
    # Behind the triggers' back: the chain names the entry.
    with sqlite3.connect(path) as con:
        con.execute("drop trigger exports_append_only_update")
        con.execute("update exports set by_user = 'someone else' where seq = 1")
    check = verify_register(path)
    assert check.problem is not None and check.problem.entry == "1"
    assert run_cli("exports", "verify").code == 1


def test_an_earlier_export_brought_back_is_registered_again(tmp_path: Path) -> None:
    first = write_folder(tmp_path, **clean_tables(), name="may")
    tables = clean_tables()
    tables["enrollment"].append(enrollment_row(member_id="B1", county_code="350403"))
    second = write_folder(tmp_path, **tables, name="june")
    for folder in (first, second, first):
        assert _ingest(folder).code == 0
    assert [e["current"] for e in _exports()] == [False, False, True]
    register = ExportRegister()
    assert register.current(PROFILE).id == 3  # type: ignore[union-attr]
    assert register.previous(register.current(PROFILE)).id == 2  # type: ignore[arg-type, union-attr]


# --- the diff ---------------------------------------------------------------------------------


def test_the_diff_of_two_exports_by_hand(tmp_path: Path) -> None:
    """May: clean_tables(). June adds member B1 in 350403 (premium 150) and her claim paid 500.

    Both export's latest date is 2024-03-20 (80 days of 366 earned). Written premium
    450 → 600; claims paid 1,000 → 1,500; loss ratio 1000 / (450 × 80/366) → 1500 / (600 ×
    80/366); participation 350403 1/50 → 2/50, the whole jurisdiction 3/150 → 4/150; 350402
    (2/100) does not move."""
    may = write_folder(tmp_path, **clean_tables(), name="may")
    tables = clean_tables()
    tables["enrollment"].append(enrollment_row(member_id="B1", county_code="350403"))
    tables["claims"].append(claim_row(member_id="B1", claim_id="C9", county_code="350403",
                                      paid_amount=500.0))
    june = write_folder(tmp_path, **tables, name="june")
    assert _ingest(may).code == 0 and _ingest(june).code == 0
    result = run_cli("exports", "diff", "1", "2", "--format", "json")
    assert result.code == 0, result.err
    diff = result.json()
    assert diff["profile"] == PROFILE
    assert diff["before"]["as_of"] == diff["after"]["as_of"] == "2024-03-20"
    figures = {(c["kind"], c["metric"], c["policy_year"], c["county_code"]):
               (c["before"], c["after"]) for c in diff["changes"] if c["kind"] != "alert"}
    earned = 80 / 366
    assert figures[("finance", "written_premium", 2024, None)] == (450.0, 600.0)
    assert figures[("finance", "claims_paid", 2024, None)] == (1000.0, 1500.0)
    before, after = figures[("finance", "loss_ratio", 2024, None)]
    assert before == pytest.approx(1000 / (450 * earned))
    assert after == pytest.approx(1500 / (600 * earned))
    assert figures[("participation", "rate", 2024, "350403")] == (
        pytest.approx(1 / 50), pytest.approx(2 / 50))
    assert figures[("participation", "rate", 2024, None)] == (
        pytest.approx(3 / 150), pytest.approx(4 / 150))
    assert ("participation", "rate", 2024, "350402") not in figures
    assert len(figures) == 5
    # The alerts that appeared and resolved are those hmb check tells apart.
    ids = [{a["id"] for a in run_cli("check", f, "--profile", PROFILE, "--format", "json")
            .json()["alerts"]} for f in (may, june)]
    alerts = {c["change"]: set() for c in diff["changes"] if c["kind"] == "alert"}
    for c in diff["changes"]:
        if c["kind"] == "alert":
            alerts[c["change"]].add(c["alert_id"])
    assert alerts.get("appeared", set()) == ids[1] - ids[0]
    assert alerts.get("resolved", set()) == ids[0] - ids[1]
    text = run_cli("exports", "diff", "1", "2")
    assert "已付赔款" in text.out or "claims" in text.out.lower()


def test_the_diff_refuses_what_it_cannot_compare(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **clean_tables())
    assert _ingest(folder).code == 0
    # The same people in 湖南's counties (三明's data is refused under 湖南's rulebook).
    hunan = write_folder(tmp_path, **in_jurisdiction(clean_tables(), "hunan-2024"), name="hunan")
    assert run_cli("ingest", hunan, "--profile", "hunan-2024").code == 0
    assert run_cli("ingest", folder, "--profile", "hunan-2024").code == 2  # registered refused
    assert _ingest(_over_the_limit(tmp_path)).code == 2
    for a, b, words in (("1", "2", "different jurisdictions"), ("1", "4", "refused"),
                        ("1", "9", "No export 9")):
        result = run_cli("exports", "diff", a, b)
        assert result.code == 2
        assert words in result.err
        assert "Traceback" not in result.text


def test_an_export_whose_store_and_files_are_gone_says_so(tmp_path: Path) -> None:
    may = write_folder(tmp_path, **clean_tables(), name="may")
    june = write_folder(tmp_path, **clean_tables(), name="june")
    assert _ingest(may).code == 0 and _ingest(june).code == 0
    shutil.rmtree(tmp_path / "cache")
    shutil.rmtree(may)
    result = run_cli("exports", "diff", "1", "2")
    assert result.code == 2
    assert "can no longer be opened" in result.err
