"""Validation of contract §2: fatal problems, row errors (quarantined), row warnings (kept).

Tests start from ``clean_tables()`` (a small valid 2024 dataset: 4 enrolments, 3 claims,
3 basic_insured rows, 2 insurers, 2 expense rows), add the rows that matter, and read the JSON
report of ``hmb validate DIR --format json`` and the quarantine it writes. The row rules share one
folder (the "gallery") with a named row or two per rule, so that hmb runs once for all of them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from hmb.ingest.dataset import open_dataset
from hmb.rulebook.profiles import load_profile
from tests.builders import (
    REQUIRED_TABLES,
    Row,
    basic_insured_row,
    claim_row,
    clean_tables,
    enrollment_row,
    expense_row,
    finance_row,
    in_jurisdiction,
    insurer_row,
    metrics_json,
    participation_row,
    run_cli,
    subsidy_eligible_row,
    write_folder,
)

RAW_ID = "11010519491231002X"  # the 18-character layout of a resident ID number (GB 11643)


def validate(folder: Path, *extra: object) -> tuple[int, dict[str, Any]]:
    result = run_cli("validate", folder, "--format", "json", *extra)
    assert "Traceback" not in result.text
    report: dict[str, Any] = result.json()
    return result.code, report


def valid_report(folder: Path, *extra: object) -> dict[str, Any]:
    code, report = validate(folder, *extra)
    assert code == 0, report["fatal"]
    assert report["ok"] is True
    assert report["fatal"] == []
    return report


def rules(report: dict[str, Any], kind: str) -> set[tuple[str, str]]:
    return {(e["table"], e["rule"]) for e in report[kind]}


def assert_reconciles(report: dict[str, Any]) -> None:
    for name, counts in report["tables"].items():
        assert counts["rows_read"] == counts["rows_accepted"] + counts["rows_quarantined"], name


def quarantine(directory: Path, table: str) -> list[Row]:
    rows: list[Row] = pq.read_table(directory / f"{table}.parquet").to_pylist()
    return rows


def held(report: dict[str, Any]) -> Path:
    """Where ``hmb validate`` wrote the quarantined rows (its report says)."""
    return Path(report["quarantine_dir"])


def with_rows(**extra: list[Row]) -> dict[str, list[Row]]:
    """``clean_tables()`` with ``extra`` rows appended to the named tables."""
    tables = clean_tables()
    for name, rows in extra.items():
        tables[name] = tables[name] + rows
    return tables


# --- a clean folder ---------------------------------------------------------------------------


def test_clean_folder_has_no_errors_and_no_warnings(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **clean_tables())  # C2 is pending: no settle_date, no error
    report = valid_report(folder)
    assert report["errors"] == []
    assert report["warnings"] == []
    expected_rows = {"enrollment": 4, "claims": 3, "basic_insured": 3, "insurers": 2,
                     "expenses": 2}
    assert set(REQUIRED_TABLES) <= set(report["tables"])
    for table, rows in expected_rows.items():
        counts = report["tables"][table]
        assert (counts["rows_read"], counts["rows_accepted"]) == (rows, rows)
        assert (counts["rows_quarantined"], counts["rows_with_warnings"]) == (0, 0)
        assert counts["files"], table
    assert Path(report["folder"]).resolve() == folder.resolve()


# --- the rogues' gallery: one folder, one or two rows for every rule --------------------------
#
# Running hmb costs a few tenths of a second, so the row rules share one folder: clean_tables()
# plus the rows below, each named for the rule it breaks. Each test then reads its own rule from
# the one report. Rows of one rule never break another, except T1, which breaks two on purpose.


def gallery_tables() -> dict[str, list[Row]]:
    tables = clean_tables()
    tables["basic_insured"] += [
        basic_insured_row("350402", 90, policy_year=2023),
        basic_insured_row("350499", 10, policy_year=2023),  # 350499: no insured base in 2024
        basic_insured_row("350402", 5, scheme="farmer"),  # invalid_value
    ]
    tables["enrollment"] += [
        enrollment_row(member_id="E1", policy_year=2023, enroll_date="2022-12-01"),  # fine
        enrollment_row(member_id="N1", scheme=None),  # null_required
        enrollment_row(member_id="V1", scheme="farmer"),  # invalid_value ...
        enrollment_row(member_id="V2", channel="alipay"),
        enrollment_row(member_id="V3", health_status="sick"),
        enrollment_row(member_id="V4", status="lapsed"),
        enrollment_row(member_id="V5", subsidy_group="veteran"),
        enrollment_row(member_id="T1", scheme="farmer", premium=-1.0),  # ... and negative_amount
        enrollment_row(member_id="D1", enroll_date="not-a-date"),  # unparseable_value
        enrollment_row(member_id="G1", premium=-150.0),  # negative_amount
        enrollment_row(member_id="G2", status="cancelled", refund_amount=-1.0),
        # duplicate_key: both copies, which land in different files (rows are dealt round-robin)
        enrollment_row(member_id="DUP", premium=150.0),
        enrollment_row(member_id="DUP", premium=160.0),
        enrollment_row(member_id="U1", county_code="350499"),  # unknown_county (in 2024)
    ]
    tables["claims"] += [
        claim_row(member_id="A1", claim_id="N2", report_date=None),  # null_required, nothing else
        claim_row(member_id="A1", claim_id="V6", status="approved", paid_amount=0.0),
        claim_row(member_id="A1", claim_id="G3", paid_amount=-1.0),
        claim_row(member_id="A1", claim_id="CD"),  # duplicate_key: both copies
        claim_row(member_id="A2", claim_id="CD", paid_amount=10.0),
        claim_row(member_id="Z9", claim_id="W1"),  # never enrolled
        claim_row(member_id="E1", claim_id="W2"),  # enrolled in 2023, claim of 2024
        claim_row(member_id="V1", claim_id="W3"),  # its only enrolment is quarantined
        # never enrolled, and reported before service: the enrolment rule is decided after the
        # others (on the stored claims), its row still lists both
        claim_row(member_id="Z8", claim_id="W4", service_date="2024-03-10",
                  report_date="2024-03-09"),
        claim_row(member_id="A1", claim_id="R1", service_date="2023-12-31",
                  report_date="2024-01-02", settle_date="2024-01-10"),
        claim_row(member_id="A1", claim_id="R2", service_date="2025-01-01",
                  report_date="2025-01-02", settle_date="2025-01-10"),
        claim_row(member_id="A1", claim_id="R3", service_date="2024-03-10",
                  report_date="2024-03-09"),
        claim_row(member_id="A1", claim_id="R4", report_date="2024-03-10",
                  settle_date="2024-03-09"),
        claim_row(member_id="A1", claim_id="R5", settle_date=None),
        claim_row(member_id="A1", claim_id="R6", status="denied", paid_amount=10.0),
        claim_row(member_id="A1", claim_id="R7", status="pending", settle_date=None,
                  paid_amount=0.01),
        # accepted: dates on the boundaries of the rules
        claim_row(member_id="A1", claim_id="B1", service_date="2024-01-01",
                  report_date="2024-01-01", settle_date="2024-01-01"),
        claim_row(member_id="A1", claim_id="B2", service_date="2024-12-31",
                  report_date="2025-01-05", settle_date="2025-01-05"),
        # accepted with a warning
        claim_row(member_id="A1", claim_id="K1", paid_amount=500.0, eligible_amount=400.0),
        claim_row(member_id="A1", claim_id="K2", eligible_amount=1200.0, paid_amount=100.0,
                  total_cost=1000.0, basic_paid=0.0, critical_paid=0.0),
        claim_row(member_id="A1", claim_id="K3", total_cost=1000.0, basic_paid=600.0,
                  critical_paid=300.0, assistance_paid=200.0, eligible_amount=100.0,
                  paid_amount=50.0),  # 600 + 300 + 200 = 1 100 > 1 000
        claim_row(member_id="A2", claim_id="L1", liability="dental"),
    ]
    tables["insurers"] += [
        insurer_row("I3", 0.0, role="leader"),  # invalid_value (2024 still sums to 0.6 + 0.4)
        insurer_row("I1", 0.6, role="lead", policy_year=2023),
        insurer_row("I2", 0.3, policy_year=2023),  # 2023: 0.6 + 0.3 = 0.9, shares_not_one
    ]
    tables["expenses"] += [
        expense_row("I1", 10.0, category="marketing"),  # invalid_value
        expense_row("I1", -5.0),  # negative_amount
        expense_row("X9", 40.0),  # expense_insurer_not_in_group
    ]
    return tables


# Row id (member_id in enrollment, claim_id in claims, the odd value elsewhere) -> _rules.
QUARANTINED = {
    "enrollment": {
        "N1": "null_required",
        "V1": "invalid_value", "V2": "invalid_value", "V3": "invalid_value",
        "V4": "invalid_value", "V5": "invalid_value",
        "T1": "invalid_value,negative_amount",
        "D1": "unparseable_value",
        "G1": "negative_amount", "G2": "negative_amount",
        "DUP": "duplicate_key",  # twice
        "U1": "unknown_county",
    },
    "claims": {
        "N2": "null_required",
        "V6": "invalid_value",
        "G3": "negative_amount",
        "CD": "duplicate_key",  # twice
        "W1": "claim_without_enrollment", "W2": "claim_without_enrollment",
        "W3": "claim_without_enrollment",
        "W4": "claim_without_enrollment,report_before_service",
        "R1": "service_outside_year", "R2": "service_outside_year",
        "R3": "report_before_service",
        "R4": "settle_before_report",
        "R5": "paid_without_settle_date",
        "R6": "unpaid_with_amount", "R7": "unpaid_with_amount",
    },
}
ROW_ID = {"enrollment": "member_id", "claims": "claim_id"}


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_folder(tmp_path_factory.mktemp("gallery"), **gallery_tables(),
                        layout="folder", files=2)


@pytest.fixture(scope="module")
def gallery_report(gallery: Path) -> dict[str, Any]:
    return valid_report(gallery, "--profile", "sanming-2024")


def rule_rows(report: dict[str, Any], kind: str, table: str, rule: str) -> int:
    """Rows a rule caught in a table (summed, should the report list one entry per column)."""
    found = [e for e in report[kind] if e["table"] == table and e["rule"] == rule]
    listed = [(e["table"], e["rule"], e["rows"]) for e in report[kind]]
    assert found, f"no {kind} entry {table}/{rule}; the report has {listed}"
    return sum(int(e["rows"]) for e in found)


@pytest.mark.parametrize(
    ("table", "rule", "rows"),
    [
        ("enrollment", "null_required", 1),  # N1
        ("enrollment", "invalid_value", 6),  # V1-V5, T1
        ("enrollment", "unparseable_value", 1),  # D1
        ("enrollment", "negative_amount", 3),  # G1, G2, T1
        ("enrollment", "duplicate_key", 2),  # both copies of DUP
        ("enrollment", "unknown_county", 1),  # U1
        ("claims", "null_required", 1),  # N2
        ("claims", "invalid_value", 1),  # V6
        ("claims", "negative_amount", 1),  # G3
        ("claims", "duplicate_key", 2),  # both copies of CD
        ("claims", "claim_without_enrollment", 4),  # W1-W4 (not C3: cancelled, accepted)
        ("claims", "service_outside_year", 2),  # R1, R2
        ("claims", "report_before_service", 2),  # R3, W4
        ("claims", "settle_before_report", 1),  # R4
        ("claims", "paid_without_settle_date", 1),  # R5
        ("claims", "unpaid_with_amount", 2),  # R6, R7
        ("basic_insured", "invalid_value", 1),
        ("insurers", "invalid_value", 1),
        ("expenses", "invalid_value", 1),
        ("expenses", "negative_amount", 1),
    ],
)
def test_row_error_rule_counts_the_rows_it_caught(
    gallery_report: dict[str, Any], table: str, rule: str, rows: int
) -> None:
    assert rule_rows(gallery_report, "errors", table, rule) == rows


@pytest.mark.parametrize(
    ("table", "rule", "ids"),
    [(table, rule, sorted(i for i, r in rules_by_id.items() if rule in r.split(",")))
     for table, rules_by_id in QUARANTINED.items()
     for rule in sorted({rule for r in rules_by_id.values() for rule in r.split(",")})],
)
def test_row_error_rule_quarantines_exactly_its_rows(
    gallery: Path, gallery_report: dict[str, Any], table: str, rule: str, ids: list[str]
) -> None:
    rows = quarantine(held(gallery_report), table)
    caught = sorted({r[ROW_ID[table]] for r in rows if rule in r["_rules"].split(",")})
    assert caught == ids


@pytest.mark.parametrize(("table", "column"), [("enrollment", "scheme"), ("claims", "report_date")])
def test_null_required_names_its_column(
    gallery_report: dict[str, Any], table: str, column: str
) -> None:
    entries = [e for e in gallery_report["errors"]
               if (e["table"], e["rule"]) == (table, "null_required")]
    assert [e["column"] for e in entries] == [column]


def test_quarantine_lists_each_rows_rules_sorted(
    gallery: Path, gallery_report: dict[str, Any]
) -> None:
    for table, expected in QUARANTINED.items():
        rows = quarantine(held(gallery_report), table)
        got = sorted((r[ROW_ID[table]], r["_rules"]) for r in rows)
        copies = {"DUP": 2, "CD": 2}
        want = sorted((i, rule) for i, rule in expected.items() for _ in range(copies.get(i, 1)))
        assert got == want, table


def test_a_row_breaking_rules_decided_at_different_times_lists_each_with_its_column(
    gallery: Path, gallery_report: dict[str, Any]
) -> None:
    # claim_without_enrollment is decided after enrollment is built, the others beside it.
    dataset = open_dataset(gallery, load_profile("sanming-2024").liability_codes)
    with duckdb.connect(str(dataset.store), read_only=True) as con:
        errors, rules = con.execute(
            "select _errors, _rules from quarantine_claims where claim_id = 'W4'"
        ).fetchall()[0]
    assert errors == [
        {"rule": "report_before_service", "column": "report_date"},
        {"rule": "claim_without_enrollment", "column": "member_id"},
    ]
    assert rules == "claim_without_enrollment,report_before_service"


def test_quarantine_keeps_every_column_and_says_where_the_row_came_from(
    gallery: Path, gallery_report: dict[str, Any]
) -> None:
    rows = {r["member_id"]: r for r in quarantine(held(gallery_report), "enrollment")}
    v2 = rows["V2"]
    for column in ("policy_year", "member_id", "county_code", "scheme", "health_status",
                   "premium", "channel", "enroll_date", "status"):
        assert column in v2
    assert (v2["county_code"], v2["scheme"], v2["channel"]) == ("350402", "resident", "alipay")
    assert rows["D1"]["enroll_date"] == "not-a-date"
    assert float(rows["G1"]["premium"]) == -150.0
    assert sorted(float(r["premium"]) for r in quarantine(held(gallery_report), "enrollment")
                  if r["member_id"] == "DUP") == [150.0, 160.0]
    assert "enrollment" in v2["_file"]
    assert v2["_file"].endswith(".parquet")  # one of enrollment/part-0.parquet, part-1.parquet
    source = Path(v2["_file"]) if Path(v2["_file"]).is_absolute() else gallery / v2["_file"]
    position = pq.read_table(source).column("member_id").to_pylist().index("V2")
    assert int(v2["_row"]) in (position, position + 1)  # counted from 0 or from 1
    for table in ("enrollment", "claims", "expenses"):
        assert (held(gallery_report) / f"{table}.csv").is_file()
    [expense] = [r for r in quarantine(held(gallery_report), "expenses")
                 if r["_rules"] == "negative_amount"]
    assert (expense["insurer_id"], float(expense["amount"])) == ("I1", -5.0)


@pytest.mark.parametrize(
    ("table", "read", "accepted", "quarantined"),
    [
        ("enrollment", 18, 5, 13),  # A1-A4 and E1 accepted
        ("claims", 25, 9, 16),  # C1-C3, B1, B2, K1-K3, L1 accepted
        ("basic_insured", 6, 5, 1),
        ("insurers", 5, 4, 1),
        ("expenses", 5, 3, 2),
    ],
)
def test_counts_reconcile(
    gallery_report: dict[str, Any], table: str, read: int, accepted: int, quarantined: int
) -> None:
    counts = gallery_report["tables"][table]
    assert (counts["rows_read"], counts["rows_accepted"], counts["rows_quarantined"]) == (
        read, accepted, quarantined
    )
    assert len(counts["files"]) == 2


@pytest.mark.parametrize(
    ("table", "rule", "rows"),
    [
        ("claims", "paid_exceeds_eligible", (1,)),  # K1: 500 > 400
        ("claims", "eligible_exceeds_cost", (1,)),  # K2: 1 200 > 1 000
        ("claims", "other_layers_exceed_cost", (1,)),  # K3: 1 100 > 1 000
        ("claims", "unknown_liability", (1,)),  # L1: Sanming defines no "dental"
        ("insurers", "shares_not_one", (1, 2)),  # the year 2023, or its two rows
        ("expenses", "expense_insurer_not_in_group", (1,)),  # X9
    ],
)
def test_row_warning_rule_counts_the_rows_it_flagged(
    gallery_report: dict[str, Any], table: str, rule: str, rows: tuple[int, ...]
) -> None:
    assert rule_rows(gallery_report, "warnings", table, rule) in rows


def test_warned_rows_are_kept(gallery_report: dict[str, Any]) -> None:
    tables = gallery_report["tables"]
    assert tables["claims"]["rows_with_warnings"] == 4  # K1, K2, K3, L1
    assert tables["insurers"]["rows_with_warnings"] in (1, 2)
    assert tables["expenses"]["rows_with_warnings"] == 1  # X9
    assert {e["rule"] for e in gallery_report["warnings"]} == {
        "paid_exceeds_eligible", "eligible_exceeds_cost", "other_layers_exceed_cost",
        "unknown_liability", "shares_not_one", "expense_insurer_not_in_group",
    }


def test_metrics_skip_quarantined_rows_and_keep_warned_ones(gallery: Path) -> None:
    result = metrics_json(gallery, "sanming-2024", as_of="2025-01-31")
    assert participation_row(result, 2024, "350402")["enrolled"] == 2  # A1, A2
    assert participation_row(result, 2024, "350403")["enrolled"] == 1  # A3
    assert participation_row(result, 2023, "350402")["enrolled"] == 1  # E1
    assert participation_row(result, 2023, "350499")["enrolled"] == 0
    row = finance_row(result, 2024)
    assert row["written_premium"] == 450.0  # A1, A2, A3 150 each; A4 150 - 150
    # C1 1 000 + B1 1 000 + B2 1 000 + K1 500 + K2 100 + K3 50 + L1 1 000 = 4 650
    assert row["claims_paid"] == 4650.0
    assert row["expenses"] == 540.0  # I1 300 + I2 200 + X9 40 (kept with a warning)
    assert finance_row(result, 2023)["written_premium"] == 150.0  # E1


def test_liability_codes_are_checked_only_against_a_given_profile(gallery: Path) -> None:
    report = valid_report(gallery)
    assert "unknown_liability" not in {e["rule"] for e in report["warnings"]}
    assert report["tables"]["claims"]["rows_with_warnings"] == 3  # K1, K2, K3


def test_validating_again_gives_the_same_report(
    gallery: Path, gallery_report: dict[str, Any]
) -> None:
    # The first run wrote its quarantine; the next must neither read it as data nor mind it.
    assert valid_report(gallery, "--profile", "sanming-2024") == gallery_report


# --- rules that need a folder of their own ----------------------------------------------------


def test_county_code_that_is_not_six_digits_is_an_invalid_value(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **with_rows(enrollment=[
        enrollment_row(member_id="V7", county_code="35042"),
    ]))
    report = valid_report(folder)
    assert rule_rows(report, "errors", "enrollment", "invalid_value") == 1
    assert report["tables"]["enrollment"]["rows_quarantined"] == 1


def test_every_claim_of_a_liability_outside_the_profile_is_flagged(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **in_jurisdiction(with_rows(claims=[
        claim_row(member_id="A1", claim_id="L1", liability="dental"),
    ]), "hunan-2024"))
    report = valid_report(folder, "--profile", "hunan-2024")
    # Hunan defines in_scope_copay and out_of_scope: C1-C3 and L1 are all unknown to it.
    assert rule_rows(report, "warnings", "claims", "unknown_liability") == 4
    assert report["tables"]["claims"]["rows_quarantined"] == 0


def test_shares_within_a_millionth_of_one_raise_no_warning(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["insurers"] = [
        insurer_row("I1", 0.1, role="lead"),
        insurer_row("I2", 0.2),
        insurer_row("I3", 0.7),  # 0.1 + 0.2 + 0.7 = 1.0000000000000002 in doubles
    ]
    folder = write_folder(tmp_path, **tables)
    report = valid_report(folder)
    assert ("insurers", "shares_not_one") not in rules(report, "warnings")


def test_quarantine_goes_where_asked(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **with_rows(expenses=[expense_row("I1", -5.0)]))
    target = tmp_path / "held-back"
    report = valid_report(folder, "--quarantine-dir", target)
    assert Path(report["quarantine_dir"]).resolve() == target.resolve()
    [row] = quarantine(target, "expenses")
    assert (row["insurer_id"], float(row["amount"])) == ("I1", -5.0)
    assert row["_rules"] == "negative_amount"


def _contents(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links followed) and a digest of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_quarantine_goes_under_the_state_folder_by_default_never_into_the_export(
    tmp_path: Path,
) -> None:
    """Before, the quarantined rows were written into the export folder itself
    (``DIR/_quarantine``): an export must stay as it was delivered."""
    folder = write_folder(tmp_path, **with_rows(expenses=[expense_row("I1", -5.0)]))
    before = _contents(folder)
    report = valid_report(folder)
    assert _contents(folder) == before
    target = held(report)
    state = Path(os.environ["HMB_STATE_DIR"]).resolve()
    assert target.resolve().is_relative_to(state / "quarantine")
    assert folder.name in target.name
    [row] = quarantine(target, "expenses")
    assert row["_rules"] == "negative_amount"
    assert valid_report(folder) == report  # the same export, the same place


@pytest.mark.parametrize("where", [".", "_quarantine", "expenses-held", "enrollment"])
def test_quarantine_dir_in_the_export_is_refused(tmp_path: Path, where: str) -> None:
    """``--quarantine-dir DIR`` overwrote ``DIR/insurers.parquet`` (9 rows became 1): a
    quarantine folder that is the export, or inside it, is refused before anything is written."""
    tables = with_rows(insurers=[insurer_row("I9", 0.0, role="leader")],
                       enrollment=[enrollment_row(member_id="Q1", channel="fax")])
    folder = write_folder(tmp_path, layout="folder", **tables)
    before = _contents(folder)
    target = folder / where
    code, report = validate(folder, "--quarantine-dir", target)
    assert code == 2
    assert report["ok"] is False and report["fatal"][0]["code"] == "quarantine_in_export"
    result = run_cli("validate", folder, "--quarantine-dir", target)
    assert result.code == 2 and str(folder) in result.err
    assert _contents(folder) == before


def test_quarantine_dir_that_would_overwrite_an_input_file_is_refused(tmp_path: Path) -> None:
    """An export whose files are links into another folder: writing the quarantine there would
    overwrite what was just read."""
    folder = write_folder(tmp_path, **with_rows(expenses=[expense_row("I1", -5.0)]))
    elsewhere = tmp_path / "delivered"
    elsewhere.mkdir()
    shutil.move(folder / "expenses.parquet", elsewhere / "expenses.parquet")
    (folder / "expenses.parquet").symlink_to(elsewhere / "expenses.parquet")
    before = _contents(elsewhere)
    code, report = validate(folder, "--quarantine-dir", elsewhere)
    assert code == 2
    assert str(elsewhere / "expenses.parquet") in report["fatal"][0]["message"]
    assert _contents(elsewhere) == before


def test_quarantine_in_a_linked_partition_folder_is_refused(tmp_path: Path) -> None:
    """A year's folder linked in from elsewhere is part of the export: a quarantine written into
    its target would be read as data next time."""
    folder = write_folder(tmp_path, layout="hive",
                          **with_rows(enrollment=[enrollment_row(member_id="Q1", channel="fax")]))
    year = folder / "enrollment" / "policy_year=2024"
    elsewhere = tmp_path / "archive-2024"
    shutil.move(year, elsewhere)
    year.symlink_to(elsewhere, target_is_directory=True)
    assert valid_report(folder)["tables"]["enrollment"]["rows_quarantined"] == 1
    before = _contents(elsewhere)
    code, _ = validate(folder, "--quarantine-dir", elsewhere)
    assert code == 2
    assert _contents(elsewhere) == before


# --- fatal problems ---------------------------------------------------------------------------


def write_raw_id_folder(root: Path) -> Path:
    tables = clean_tables()
    tables["enrollment"][1]["member_id"] = RAW_ID  # A2, the second row: lands in part-1
    tables["claims"] = [c for c in tables["claims"] if c["member_id"] != "A2"]
    return write_folder(root, **tables, layout="folder", files=2)


def write_unreadable_folder(root: Path) -> Path:
    folder = write_folder(root, **clean_tables(), omit_tables=["enrollment"])
    (folder / "enrollment.parquet").write_bytes(b"member_id,premium\nA1,150\n")
    return folder


def write_uncastable_year_folder(root: Path) -> Path:
    tables = clean_tables()
    for row in tables["enrollment"]:
        row["policy_year"] = "abc"
    return write_folder(root, **tables)


def write_uncastable_dates_folder(root: Path) -> Path:
    tables = clean_tables()
    for row in tables["enrollment"]:
        row["enroll_date"] = "2024/13/45"
    return write_folder(root, **tables)


FATAL_CASES = {
    # id: (folder writer, code, table, file name in the message, column)
    "missing_table": (
        lambda root: write_folder(root, **clean_tables(), omit_tables=["claims"]),
        "missing_table", "claims", "claims", None,
    ),
    "missing_column": (
        lambda root: write_folder(root, **clean_tables(), drop_columns={"enrollment": ["premium"]}),
        "missing_column", "enrollment", "enrollment.parquet", "premium",
    ),
    "missing_column_hive": (
        lambda root: write_folder(root, **clean_tables(), layout="hive",
                                  drop_columns={"basic_insured": ["insured_count"]}),
        "missing_column", "basic_insured", "basic_insured", "insured_count",
    ),
    "uncastable_year": (
        write_uncastable_year_folder,
        "uncastable_column", "enrollment", "enrollment.parquet", "policy_year",
    ),
    "uncastable_dates": (
        write_uncastable_dates_folder,
        "uncastable_column", "enrollment", "enrollment.parquet", "enroll_date",
    ),
    "raw_id_number": (
        write_raw_id_folder, "raw_id_number", "enrollment", "part-1.parquet", "member_id",
    ),
    "unreadable_file": (
        write_unreadable_folder, "unreadable_file", "enrollment", "enrollment.parquet", None,
    ),
}


@pytest.mark.parametrize("case", FATAL_CASES)
def test_fatal_problem_in_the_json_report(tmp_path: Path, case: str) -> None:
    writer, code, table, file_name, column = FATAL_CASES[case]
    folder = writer(tmp_path)
    exit_code, report = validate(folder)
    assert exit_code == 2
    assert report["ok"] is False
    found = [f for f in report["fatal"] if f["code"] == code]
    assert found, report["fatal"]
    fatal = found[0]
    assert fatal["table"] == table
    assert column is None or fatal["column"] == column
    if code != "missing_table":
        assert file_name in (fatal["file"] or "")
    assert file_name in fatal["message"]
    assert column is None or column in fatal["message"]


@pytest.mark.parametrize("case", FATAL_CASES)
@pytest.mark.parametrize("command", ["validate", "metrics"])
def test_fatal_problem_stops_the_command_with_a_message(
    tmp_path: Path, case: str, command: str
) -> None:
    writer, _, table, file_name, column = FATAL_CASES[case]
    folder = writer(tmp_path)
    args: list[object] = [command, folder]
    if command == "metrics":
        args += ["--profile", "sanming-2024", "--format", "json"]
    result = run_cli(*args)
    assert result.code == 2
    assert "Traceback" not in result.text
    assert file_name in result.err
    assert table in result.err
    assert column is None or column in result.err


def test_raw_id_number_is_never_printed_in_full(tmp_path: Path) -> None:
    folder = write_raw_id_folder(tmp_path)
    for args in (["validate", folder], ["validate", folder, "--format", "json"],
                 ["metrics", folder, "--profile", "sanming-2024", "--format", "json"]):
        result = run_cli(*args)
        assert result.code == 2
        assert RAW_ID not in result.text
        assert RAW_ID[:17] not in result.text
    state = Path(os.environ["HMB_STATE_DIR"])
    assert not any(RAW_ID.encode() in path.read_bytes()
                   for path in state.rglob("*") if path.is_file() and "quarantine" in str(path))


@pytest.mark.parametrize("padding", ["", "\t", "\u3000", " \r\n"])
def test_raw_id_number_in_claims_is_fatal(tmp_path: Path, padding: str) -> None:
    """Also with the white space that trimming removes around it (a tab, a full-width space,
    a line end): the value would be read as the bare ID number."""
    tables = clean_tables()
    tables["claims"][0]["member_id"] = "110105194912310021" + padding  # 17 digits, a digit
    folder = write_folder(tmp_path, **tables)
    exit_code, report = validate(folder)
    assert exit_code == 2
    [fatal] = [f for f in report["fatal"] if f["code"] == "raw_id_number"]
    assert fatal["table"] == "claims"
    assert "110105194912310021" not in str(report)


def test_raw_id_number_in_enrollment_is_fatal_with_white_space_around_it(
    tmp_path: Path,
) -> None:
    tables = clean_tables()
    tables["enrollment"][1]["member_id"] = "\u3000" + RAW_ID + "\t"
    folder = write_folder(tmp_path, **tables)
    exit_code, report = validate(folder)
    assert exit_code == 2
    [fatal] = [f for f in report["fatal"] if f["code"] == "raw_id_number"]
    assert fatal["table"] == "enrollment"
    assert RAW_ID[:17] not in str(report)


# Every way a careless export writes the same resident ID number.
RAW_ID_FORMS = {
    "hyphens": "110105-19491231-002X",
    "spaces": "110105 1949 1231 002X",
    "full_width": "１１０１０５１９４９１２３１００２Ｘ",
    "zero_width": "110105\u200b19491231\u200d002\ufeffx",
    "fifteen_digits": "110105491231002",
}


@pytest.mark.parametrize("form", RAW_ID_FORMS)
@pytest.mark.parametrize("table", ["enrollment", "claims"])
def test_every_form_of_a_raw_id_number_in_member_id_is_fatal(
    tmp_path: Path, form: str, table: str
) -> None:
    tables = clean_tables()
    tables[table][1]["member_id"] = RAW_ID_FORMS[form]
    folder = write_folder(tmp_path, **tables)
    exit_code, report = validate(folder)
    assert exit_code == 2
    [fatal] = [f for f in report["fatal"] if f["code"] == "raw_id_number"]
    assert (fatal["table"], fatal["column"]) == (table, "member_id")
    assert RAW_ID_FORMS[form] not in str(report) and "19491231" not in str(report)


@pytest.mark.parametrize("table", ["enrollment", "claims"])
def test_a_raw_id_number_in_an_integer_member_id_is_fatal(tmp_path: Path, table: str) -> None:
    tables = clean_tables()
    if table == "enrollment":
        tables["claims"] = []
    for number, row in enumerate(tables[table]):
        row["member_id"] = 110105194912310021 + number
    tables[table] += [dict(tables[table][0], member_id=110105491231002)]
    folder = write_folder(tmp_path, **tables)
    exit_code, report = validate(folder)
    assert exit_code == 2
    [fatal] = [f for f in report["fatal"] if f["code"] == "raw_id_number"]
    assert (fatal["table"], fatal["column"]) == (table, "member_id")


@pytest.mark.parametrize("table", ["enrollment", "claims", "insurers"])
@pytest.mark.parametrize("form", ["fifteen_digits", "full_width", "integer"])
def test_a_raw_id_number_in_an_extra_column_is_fatal_after_row_1000(
    tmp_path: Path, table: str, form: str
) -> None:
    tables = clean_tables()
    rows = tables[table]
    if table == "enrollment":
        rows += [enrollment_row(member_id=f"B{i}", county_code="350403") for i in range(1200)]
    value: object = 110105194912310021 if form == "integer" else RAW_ID_FORMS[form]
    for row in rows:
        row["id_number"] = None
    rows[-1]["id_number"] = value
    folder = write_folder(tmp_path, **tables)
    quarantine_dir = tmp_path / "held-back"
    exit_code, report = validate(folder, "--quarantine-dir", quarantine_dir)
    assert exit_code == 2
    [fatal] = [f for f in report["fatal"] if f["code"] == "raw_id_number"]
    assert (fatal["table"], fatal["column"]) == (table, "id_number")
    assert "id_number" in fatal["message"] and "491231" not in fatal["message"]
    assert not quarantine_dir.exists() or not any(quarantine_dir.iterdir())


def test_the_quarantine_never_holds_an_extra_column_s_id_numbers(tmp_path: Path) -> None:
    """A row quarantined for another reason, with an ID number in a column of its own: the
    export stops before any quarantine is written, so the ID never reaches it."""
    tables = with_rows(expenses=[expense_row("I1", -5.0)])
    for row in tables["enrollment"]:
        row["id_number"] = RAW_ID_FORMS["hyphens"]
    folder = write_folder(tmp_path, **tables)
    target = tmp_path / "held-back"
    exit_code, _ = validate(folder, "--quarantine-dir", target)
    assert exit_code == 2
    written = [p for p in [*target.rglob("*"), *folder.rglob("_quarantine/*")] if p.is_file()]
    assert not any(b"19491231" in p.read_bytes() for p in written)


@pytest.mark.parametrize(("table", "column"), [
    ("enrollment", "county_code"), ("enrollment", "status"), ("enrollment", "premium"),
    ("claims", "liability"), ("claims", "county_code"), ("insurers", "insurer_name"),
])
def test_a_raw_id_number_in_a_column_of_the_contract_is_fatal_not_quarantined(
    tmp_path: Path, table: str, column: str
) -> None:
    """In a column whose rules it breaks, an ID number would have been quarantined, and the
    quarantine written out with the row as exported."""
    tables = clean_tables()
    if table == "enrollment":
        tables[table] += [enrollment_row(member_id=f"B{i}") for i in range(1200)]
    tables[table][-1][column] = RAW_ID_FORMS["hyphens"]
    folder = write_folder(tmp_path, **tables)
    target = tmp_path / "held-back"
    exit_code, report = validate(folder, "--quarantine-dir", target)
    assert exit_code == 2
    [fatal] = [f for f in report["fatal"] if f["code"] == "raw_id_number"]
    assert (fatal["table"], fatal["column"]) == (table, column)
    assert not target.exists() or not any(target.iterdir())


@pytest.mark.parametrize(("column", "value"), [
    ("basic_paid", 1.10105194912310021e17), ("policy_year", 110105194912310021),
])
def test_a_raw_id_number_in_a_number_column_never_reaches_the_quarantine_export(
    tmp_path: Path, column: str, value: object
) -> None:
    """The contract's number columns are not scanned (a province's amounts would cost a scan
    each): an ID number there does not cast, its row is quarantined, and the export of the
    quarantine, which re-reads the rows as exported, refuses it."""
    tables = clean_tables()
    tables["claims"][0][column] = value
    folder = write_folder(tmp_path, **tables)
    target = tmp_path / "held-back"
    exit_code, report = validate(folder, "--quarantine-dir", target)
    assert exit_code == 2
    [fatal] = [f for f in report["fatal"] if f["code"] == "raw_id_number"]
    assert (fatal["table"], fatal["column"]) == ("claims", column)
    written = [p for p in target.rglob("*") if p.is_file()]
    assert not any(b"1101051949" in p.read_bytes() or b"1.101051949" in p.read_bytes()
                   for p in written)


def test_long_numbers_that_are_not_id_numbers_are_fine(tmp_path: Path) -> None:
    tables = clean_tables()
    for row in tables["claims"]:
        row["invoice"] = 1234567890123456  # 16 digits
        row["note"] = "110105-1949-1231-00"  # 16 digits, however written
    folder = write_folder(tmp_path, **tables)
    valid_report(folder)


def test_pseudonymous_ids_of_eighteen_characters_are_fine(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["enrollment"][1]["member_id"] = "a3f9c2e71b04d58e6f"  # hex, not an ID number
    tables["enrollment"][2]["member_id"] = "1101051949123100"  # 16 digits
    tables["claims"] = [c for c in tables["claims"] if c["member_id"] == "A1"]
    folder = write_folder(tmp_path, **tables)
    valid_report(folder)


def test_empty_folder_is_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "no-parquet-here"
    folder.mkdir()
    (folder / "README.txt").write_text("exports arrive on Monday\n")
    exit_code, report = validate(folder)
    assert exit_code == 2
    assert [f["code"] for f in report["fatal"]] == ["empty_folder"]
    result = run_cli("validate", folder)
    assert result.code == 2
    assert "no-parquet-here" in result.err
    assert "Traceback" not in result.text


def test_folder_that_does_not_exist_is_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "nowhere"
    exit_code, report = validate(folder)
    assert exit_code == 2
    assert [f["code"] for f in report["fatal"]] == ["not_found"]
    result = run_cli("metrics", folder, "--profile", "sanming-2024", "--format", "json")
    assert result.code == 2
    assert "nowhere" in result.err
    assert "Traceback" not in result.text


# --- accepted inputs --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_metrics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Metrics of clean_tables() written the plain way: one DATE/DOUBLE file per table."""
    folder = write_folder(tmp_path_factory.mktemp("reference"), **clean_tables())
    result: dict[str, Any] = metrics_json(folder, "sanming-2024", as_of="2024-06-30")
    return result


def assert_clean_metrics(result: dict[str, Any]) -> None:
    """clean_tables() at 2024-06-30: enrolled A1, A2 in 350402 and A3 in 350403;
    written 150 x 3 + (150 - 150) = 450; claims paid 1 000 (C1); expenses 300 + 200 = 500."""
    assert participation_row(result, 2024, "350402")["enrolled"] == 2
    assert participation_row(result, 2024, "350403")["enrolled"] == 1
    assert participation_row(result, 2024, None)["rate"] == pytest.approx(3 / 150, abs=1e-9)
    row = finance_row(result, 2024)
    assert (row["written_premium"], row["claims_paid"], row["expenses"]) == (450.0, 1000.0, 500.0)


@pytest.mark.parametrize(
    "options",
    [
        {"layout": "hive"},
        {"layout": "hive", "files": 2},
        {"layout": "folder", "files": 2},
        {"dates": "string"},
        {"amounts": "decimal"},
        {"layout": "hive", "dates": "string", "amounts": "decimal"},
    ],
    ids=["hive", "hive-two-files", "folder-two-files", "string-dates", "decimal-amounts",
         "hive-strings-decimals"],
)
def test_accepted_layouts_and_types_give_the_same_answer(
    tmp_path: Path, reference_metrics: dict[str, Any], options: dict[str, Any]
) -> None:
    folder = write_folder(tmp_path, **clean_tables(), **options)
    result = metrics_json(folder, "sanming-2024", as_of="2024-06-30")
    assert_clean_metrics(result)
    assert result == reference_metrics


def test_hive_partitions_validate_cleanly_and_their_files_are_listed(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, **clean_tables(), layout="hive", files=2, dates="string",
                          amounts="decimal")
    report = valid_report(folder)
    assert report["errors"] == []
    assert report["tables"]["enrollment"]["rows_accepted"] == 4
    files = report["tables"]["enrollment"]["files"]
    assert len(files) == 2
    assert all("policy_year=2024" in f for f in files)


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    tables = clean_tables()
    for row in tables["enrollment"]:
        row["agent_code"] = "X-01"
        row["remarks"] = None
    for row in tables["claims"]:
        row["hospital_level"] = 3
    folder = write_folder(tmp_path, **tables)
    report = valid_report(folder)
    assert report["errors"] == []
    assert report["warnings"] == []
    assert_clean_metrics(metrics_json(folder, "sanming-2024", as_of="2024-06-30"))


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["enrollment"][3]["refund_amount"] = 0.0  # A4: cancelled; refund now defaults to 0
    # Without settle_date no claim can be paid: keep C2 (pending) and C3 (denied, unpaid).
    tables["claims"] = [c for c in tables["claims"] if c["status"] != "paid"]
    folder = write_folder(tmp_path, **tables, drop_columns={
        "enrollment": ["subsidy_group", "subsidy_amount", "refund_amount", "sex", "birth_year"],
        "claims": ["settle_date"],
    })
    report = valid_report(folder)
    assert report["errors"] == []
    result = metrics_json(folder, "sanming-2024", as_of="2024-06-30")
    row = finance_row(result, 2024)
    assert row["written_premium"] == 600.0  # 4 x 150, nothing refunded
    assert row["claims_paid"] == 0.0


def test_subsidy_eligible_is_optional_and_accepted_when_present(tmp_path: Path) -> None:
    without = write_folder(tmp_path, **clean_tables(), name="without")
    valid_report(without)
    present = write_folder(
        tmp_path, **clean_tables(), name="with",
        subsidy_eligible=[subsidy_eligible_row("350402", "dibao", 12),
                          subsidy_eligible_row("350403", "tekun", 3)],
    )
    report = valid_report(present)
    assert report["tables"]["subsidy_eligible"]["rows_accepted"] == 2


def test_quarantined_rows_are_exported_as_the_files_held_them(tmp_path: Path) -> None:
    """hmb validate --quarantine-dir reads the quarantined rows back by file and row number,
    from every file that holds one, with the text exactly as exported."""
    tables = clean_tables()
    tables["enrollment"] += [
        enrollment_row(member_id="Q1", enroll_date="not a date"),
        enrollment_row(member_id="Q2", channel="fax"),
        enrollment_row(member_id="Q3", refund_amount=-2.0),
    ]
    folder = write_folder(tmp_path, layout="hive", files=3, dates="string", **tables)
    target = tmp_path / "held-back"
    valid_report(folder, "--quarantine-dir", target)
    rows = quarantine(target, "enrollment")
    assert len({r["_file"] for r in rows}) > 1  # the rows come from several files
    assert sorted((r["member_id"], r["enroll_date"], r["_rules"]) for r in rows) == [
        ("Q1", "not a date", "unparseable_value"),
        ("Q2", "2023-12-01", "invalid_value"),
        ("Q3", "2023-12-01", "negative_amount"),
    ]


def test_an_optional_amount_that_does_not_cast_is_unparseable_not_its_default(
    tmp_path: Path,
) -> None:
    """refund_amount and subsidy_amount default to 0 when absent or null; a value that is there
    but is not a number is quarantined, not read as 0 (which would inflate written premium)."""
    tables = clean_tables()
    tables["enrollment"] += [
        enrollment_row(member_id="U1", refund_amount="abc", status="cancelled"),
        enrollment_row(member_id="U2", subsidy_amount="n/a"),
        enrollment_row(member_id="U3", refund_amount=None),  # null: the default, accepted
    ]
    folder = write_folder(tmp_path, **tables)
    report = valid_report(folder)
    assert report["tables"]["enrollment"]["rows_quarantined"] == 2
    caught = {(e["rule"], e["column"]) for e in report["errors"] if e["table"] == "enrollment"}
    assert caught == {("unparseable_value", "refund_amount"),
                      ("unparseable_value", "subsidy_amount")}


def test_a_state_folder_inside_the_export_is_no_excuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default place obeys the same rule: a state folder set inside the export is refused,
    not written into."""
    folder = write_folder(tmp_path, **with_rows(expenses=[expense_row("I1", -5.0)]))
    before = _contents(folder)
    monkeypatch.setenv("HMB_STATE_DIR", str(folder / "state"))
    code, report = validate(folder)
    assert code == 2 and report["fatal"][0]["code"] == "quarantine_in_export"
    assert _contents(folder) == before
