"""Contract §8's quarantine limit: a table in which one rule quarantines more than max(10 rows,
1 % of the table's rows) is refused by every command (exit 2, naming the table, rule, column and
an example), unless ``--max-quarantined`` raises the share; the quarantine is written all the
same."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from hmb.ingest.quarantine_limit import limit_rows, parse_share
from tests.builders import (
    CliResult,
    claim_row,
    clean_tables,
    enrollment_row,
    members,
    run_cli,
    write_folder,
)

COMMANDS = ("metrics", "check", "development")


def _claims_folder(root: Path, *, good: int, bad: dict[str, int], name: str = "data") -> Path:
    """The clean tables plus ``good`` valid claims and, per rule in ``bad``, that many claims
    breaking it (each with a member of its own)."""
    tables = clean_tables()
    people = members(good + sum(bad.values()))
    tables["enrollment"] += people
    ids = iter(p["member_id"] for p in people)
    claims = [claim_row(member_id=next(ids)) for _ in range(good)]
    for rule, count in bad.items():
        for _ in range(count):
            claim = claim_row(member_id=next(ids))
            if rule == "unparseable":
                claim["report_date"] = "not a date"
            elif rule == "report_before_service":
                claim["report_date"] = "2024-02-01"
            elif rule == "both_dates_null":  # null_required on two columns of one row
                claim["report_date"] = None
                claim["service_date"] = None
            elif rule == "no_enrollment":
                claim["member_id"] = f"X{claim['claim_id']}"
            claims.append(claim)
    tables["claims"] += claims
    return write_folder(root, dates="string", name=name, **tables)


def _validate(folder: Path, *extra: object) -> CliResult:
    return run_cli("validate", folder, "--format", "json", *extra)


def test_half_the_report_dates_unparseable_is_refused_not_measured(tmp_path: Path) -> None:
    """The issue's case: half of claims.report_date does not parse. Before the limit every
    command exited 0 and the metrics silently dropped half the claims."""
    folder = _claims_folder(tmp_path, good=40, bad={"unparseable": 40})
    result = _validate(folder, "--quarantine-dir", tmp_path / "q")
    assert result.code == 2
    report = result.json()
    assert report["ok"] is False
    (fatal,) = report["fatal"]
    assert fatal["code"] == "quarantine_limit"
    assert (fatal["table"], fatal["column"]) == ("claims", "report_date")
    for text in ("claims", "unparseable_value", "report_date", "40", "'not a date'",
                 "--max-quarantined", "隔离"):
        assert text in fatal["message"]
    # The quarantine is written all the same, and said where.
    assert report["quarantine_dir"] == str(tmp_path / "q")
    assert (tmp_path / "q" / "claims.csv").is_file()
    assert "Traceback" not in result.text
    for command in COMMANDS:
        refused = run_cli(command, folder, "--profile", "sanming-2024", "--format", "json")
        assert refused.code == 2, command
        assert refused.out == ""
        assert "unparseable_value" in refused.err and "report_date" in refused.err
        assert "Traceback" not in refused.text


def test_the_override_raises_the_limit(tmp_path: Path) -> None:
    folder = _claims_folder(tmp_path, good=40, bad={"unparseable": 40})
    assert _validate(folder, "--quarantine-dir", tmp_path / "q",
                     "--max-quarantined", "0.5").code == 0
    for command in COMMANDS:
        result = run_cli(command, folder, "--profile", "sanming-2024", "--format", "json",
                         "--max-quarantined", "0.5")
        assert result.code == 0, (command, result.err)
    # 40 of 83 claims is 48 %: a share of 0.45 still refuses.
    assert run_cli("metrics", folder, "--profile", "sanming-2024",
                   "--max-quarantined", "0.45").code == 2


@pytest.mark.parametrize(("bad", "code"), [(10, 0), (11, 2)])
def test_ten_rows_pass_and_eleven_fail_in_a_small_table(
    tmp_path: Path, bad: int, code: int
) -> None:
    folder = _claims_folder(tmp_path, good=20, bad={"report_before_service": bad})
    result = _validate(folder, "--quarantine-dir", tmp_path / "q")
    assert result.code == code, result.err
    assert run_cli("metrics", folder, "--profile", "sanming-2024").code == code


@pytest.mark.parametrize(("bad", "code"), [(15, 0), (16, 2)])
def test_exactly_one_percent_passes_and_one_row_more_fails(
    tmp_path: Path, bad: int, code: int
) -> None:
    # 1,500 claims in all: the limit is 15 rows.
    folder = _claims_folder(tmp_path, good=1_497 - bad, bad={"report_before_service": bad})
    assert limit_rows(1_500) == 15
    result = _validate(folder, "--quarantine-dir", tmp_path / "q")
    assert result.json()["tables"]["claims"]["rows_read"] == 1_500
    assert result.code == code, result.err


def test_the_limit_is_per_rule_and_per_table(tmp_path: Path) -> None:
    """Two rules at ten rows each (twenty quarantined claims), and ten in another table: each
    is within its own limit."""
    folder = _claims_folder(tmp_path, good=20, bad={"report_before_service": 10,
                                                     "no_enrollment": 10})
    tables = clean_tables()
    assert _validate(folder, "--quarantine-dir", tmp_path / "q").code == 0
    tables["enrollment"] += members(20) + [enrollment_row(channel="carrier pigeon")
                                           for _ in range(10)]
    tables["claims"] += [claim_row(member_id="A1", report_date="2024-02-01")
                         for _ in range(10)]
    other = write_folder(tmp_path, name="other", **tables)
    assert _validate(other, "--quarantine-dir", tmp_path / "q2").code == 0


def test_a_row_caught_on_two_columns_counts_once(tmp_path: Path) -> None:
    folder = _claims_folder(tmp_path, good=20, bad={"both_dates_null": 10})
    result = _validate(folder, "--quarantine-dir", tmp_path / "q")
    assert result.code == 0, result.err
    nulls = [e for e in result.json()["errors"] if e["rule"] == "null_required"]
    assert sum(e["rows"] for e in nulls) == 20  # ten rows, two columns each


def test_member_ids_in_the_message_are_masked(tmp_path: Path) -> None:
    folder = _claims_folder(tmp_path, good=5, bad={"no_enrollment": 11})
    result = run_cli("metrics", folder, "--profile", "sanming-2024")
    assert result.code == 2
    assert "claim_without_enrollment" in result.err and "member_id" in result.err
    assert not re.search(r"XC\d{5}", result.err)  # no member ID in clear
    shown = result.err.split("member_id = '")[1].split("'")[0]
    assert "*" in shown and len(shown) > 4


@pytest.mark.parametrize("value", ["-0.1", "1.5", "nan", "inf", "-inf", "abc", "", "101%"])
def test_nonsense_shares_are_refused(tmp_path: Path, value: str) -> None:
    folder = _claims_folder(tmp_path, good=2, bad={})
    result = run_cli("metrics", folder, "--profile", "sanming-2024",
                     f"--max-quarantined={value}")
    assert result.code == 2
    assert "--max-quarantined" in result.err
    assert "Traceback" not in result.text


@pytest.mark.parametrize(("text", "share"), [("0", 0.0), ("0.05", 0.05), ("1", 1.0),
                                              ("5%", 0.05), (" 0.2 ", 0.2)])
def test_shares_that_read(text: str, share: float) -> None:
    assert parse_share(text) == pytest.approx(share)


def test_a_clean_folder_and_a_warned_one_pass(tmp_path: Path) -> None:
    tables: dict[str, Any] = clean_tables()
    # Warnings are not quarantined: many of them never trip the limit.
    tables["enrollment"] += members(30)
    tables["claims"] += [claim_row(member_id="A1", paid_amount=5000.0) for _ in range(30)]
    folder = write_folder(tmp_path, **tables)
    assert _validate(folder, "--quarantine-dir", tmp_path / "q").code == 0
