"""The province-scale enrollment path (hmb.ingest.enrollment_scan): exact despite hashes, and
per-year
segments that are reused when other years' files change."""

from __future__ import annotations

import os
import sys
import time
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from benchmarks import pandas_baseline
from hmb.ingest import enrollment_scan, typed_sql, validation
from hmb.ingest.dataset import open_dataset
from hmb.ingest.loading import discover
from tests.builders import (
    basic_insured_row,
    claim_row,
    clean_tables,
    enrollment_row,
    metrics_json,
    write_folder,
)


def _two_years() -> dict[str, Any]:
    """clean_tables() for 2024, and the same people (plus a duplicate and an orphan claim) in
    2025: a folder where every rule that spans rows has something to catch."""
    tables = clean_tables()
    for name in ("basic_insured", "insurers", "expenses"):
        tables[name] += [{**row, "policy_year": 2025} for row in tables[name]]
    tables["enrollment"] += [
        enrollment_row(member_id="A1", policy_year=2025, enroll_date="2024-12-01"),
        enrollment_row(member_id="A2", policy_year=2025, enroll_date="2024-12-01"),
        enrollment_row(member_id="A2", policy_year=2025, enroll_date="2024-12-02"),  # duplicate
        enrollment_row(member_id="A3", policy_year=2025, enroll_date="2024-12-01",
                       county_code="999999"),  # unknown county: A3 has no accepted 2025 row
    ]
    tables["claims"] += [
        claim_row(member_id="A1", claim_id="D1", policy_year=2025, service_date="2025-03-01",
                  report_date="2025-03-02", settle_date="2025-03-10"),
        claim_row(member_id="A2", claim_id="D2", policy_year=2025, service_date="2025-03-01",
                  report_date="2025-03-02", settle_date="2025-03-10"),
        claim_row(member_id="A3", claim_id="D3", policy_year=2025, service_date="2025-03-01",
                  report_date="2025-03-02", settle_date="2025-03-10"),
    ]
    return tables


def _quarantined(folder: Path, tmp_path: Path) -> dict[str, list[tuple[str, str]]]:
    dataset = open_dataset(folder, cache_dir=tmp_path / "cache")
    with dataset.connect() as con:
        return {
            table: sorted(
                (str(key), rules)
                for key, rules in con.execute(
                    f"select {'claim_id' if table == 'claims' else 'member_id'}, _rules"
                    f" from quarantine_{table}"
                ).fetchall()
            )
            for table in ("enrollment", "claims")
        }


def _counts(folder: Path, segments: Path | None) -> list[tuple[Any, ...]]:
    """The ``_counts`` rows of a build of ``folder``, with or without segment files."""
    with duckdb.connect() as con:
        validation.Validator(con, discover(folder), segments=segments, version="t").run()
        return con.execute("select * from _counts order by all").fetchall()


def test_each_years_counts_are_its_own_with_or_without_segment_files(tmp_path: Path) -> None:
    """Without segment files every year is built into the same tables: the counts of a year must
    not include the years before. 2024: A1-A4 and Q1 read, Q1 (unknown county) quarantined;
    2025: A1, A2 twice and A3 read, both copies of A2 and A3 (unknown county) quarantined."""
    tables = _two_years()
    tables["enrollment"].append(enrollment_row(member_id="Q1", county_code="999999"))
    folder = write_folder(tmp_path, layout="hive", **tables)  # type: ignore[arg-type]
    without = _counts(folder, None)
    assert [r for r in without if r[0] == "enrollment"] == [
        ("enrollment", 4, 3, 0), ("enrollment", 5, 1, 0)
    ]
    assert without == _counts(folder, tmp_path / "segments")


def _stored(folder: Path, segments: Path | None) -> dict[str, list[Any]]:
    """Every table of a build of ``folder``, its rows sorted."""
    with duckdb.connect() as con:
        validation.Validator(con, discover(folder), segments=segments, version="t").run()
        names = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'memory'"
            " order by all").fetchall()]
        return {n: con.execute(f"select * from {n} order by all").fetchall() for n in names}


def test_years_built_at_once_store_what_one_at_a_time_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Years whose segment is missing are built two at a time, each on a connection of its own
    with its own views; the store must be the one a build year after year makes, without
    segment files and with them."""
    tables = _two_years()
    tables["basic_insured"] += [{**row, "policy_year": 2026} for row in clean_tables()[
        "basic_insured"]]
    tables["enrollment"] += [
        enrollment_row(member_id="A1", policy_year=2026, enroll_date="2025-12-01"),
        enrollment_row(member_id="A1", policy_year=2026, enroll_date="2025-12-02"),
        enrollment_row(member_id="A9", policy_year=2026, channel="fax"),
        enrollment_row(member_id="A2", policy_year=2026, enroll_date="2025-12-01"),
    ]
    folder = write_folder(tmp_path, layout="hive", files=2, **tables)  # type: ignore[arg-type]
    at_once = _stored(folder, tmp_path / "two")
    assert any(r[0] == 2026 for r in at_once["enrollment_cube"])
    assert len(at_once["quarantine_enrollment"]) == 3 + 3
    monkeypatch.setattr(enrollment_scan, "_YEARS_AT_ONCE", 1)
    assert _stored(folder, tmp_path / "one") == at_once
    assert _stored(folder, None) == at_once


@pytest.mark.parametrize("layout", ["file", "hive", "folder"])
def test_duplicates_and_orphan_claims_are_caught_exactly(tmp_path: Path, layout: str) -> None:
    folder = write_folder(tmp_path, layout=layout, files=2, **_two_years())  # type: ignore[arg-type]
    found = _quarantined(folder, tmp_path)
    assert found["enrollment"] == [
        ("A2", "duplicate_key"),  # every copy of the duplicated key
        ("A2", "duplicate_key"),
        ("A3", "unknown_county"),
    ]
    # D2's member is a duplicate and D3's is in an unknown county: neither has an accepted row.
    assert found["claims"] == [
        ("D2", "claim_without_enrollment"),
        ("D3", "claim_without_enrollment"),
    ]
    result = metrics_json(folder, as_of="2025-12-31")
    year = next(r for r in result["participation"]
                if r["policy_year"] == 2025 and r["county_code"] is None)
    assert year["enrolled"] == 1  # A1 only


@pytest.mark.parametrize("layout", ["file", "hive"])
def test_claims_of_a_year_without_any_enrolment_are_caught(tmp_path: Path, layout: str) -> None:
    """A claim of a year no enrolment export covers has no accepted enrolment either, whether
    the files are split by year or not; the same member's claims in a year with an accepted
    enrolment are accepted."""
    tables = _two_years()
    tables["claims"] += [
        claim_row(member_id="A1", claim_id="E1", policy_year=2026, service_date="2026-03-01",
                  report_date="2026-03-02", settle_date="2026-03-10"),
        claim_row(member_id="A1", claim_id="E2", policy_year=2026, service_date="2026-04-01",
                  report_date="2026-04-02", settle_date="2026-04-10"),
    ]
    folder = write_folder(tmp_path, layout=layout, **tables)  # type: ignore[arg-type]
    assert _quarantined(folder, tmp_path)["claims"] == [
        ("D2", "claim_without_enrollment"),
        ("D3", "claim_without_enrollment"),
        ("E1", "claim_without_enrollment"),
        ("E2", "claim_without_enrollment"),
    ]


def test_hash_matches_only_choose_rows_the_ids_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashes only pick the rows worth a closer look. Pretend every key's hash was seen twice
    (as if every hash had collided): the answers must not change, because duplicates are
    decided by comparing the IDs themselves."""
    folder = write_folder(tmp_path, **_two_years())
    expected = metrics_json(folder, as_of="2025-12-31")
    quarantine = _quarantined(folder, tmp_path / "a")
    calls: list[int] = []

    def every_hash_repeated(hashes: Any) -> Any:
        calls.append(len(hashes))
        return np.unique(hashes)

    monkeypatch.setattr(enrollment_scan, "_repeated_hashes", every_hash_repeated)
    monkeypatch.setenv("HMB_CACHE_DIR", str(tmp_path / "collided"))
    assert metrics_json(folder, as_of="2025-12-31") == expected
    assert _quarantined(folder, tmp_path / "b") == quarantine
    assert calls  # the patched path ran


def _fen(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _oracle_cube(folder: Path, quarantined: set[tuple[str, int]]) -> list[tuple[Any, ...]]:
    """The cube computed independently: every enrollment row read with pyarrow, the rows the
    product quarantined (by file and row) left out, the rest grouped in Python."""
    cube: dict[tuple[Any, ...], list[Any]] = {}
    for file in sorted(folder.rglob("*.parquet")):
        if "enrollment" not in file.as_posix():
            continue
        hive_year = next((int(part.split("=")[1]) for part in file.parts
                          if part.startswith("policy_year=")), None)
        for number, row in enumerate(pq.read_table(file).to_pylist()):
            if (file.resolve().as_posix(), number) in quarantined:
                continue
            enrolled = row["enroll_date"]
            text = {k: (row[k] or "").strip(typed_sql.SPACES) or None
                    for k in ("county_code", "status", "health_status", "subsidy_group")}
            key = (row.get("policy_year", hive_year), text["county_code"],
                   enrolled if isinstance(enrolled, date) else date.fromisoformat(enrolled),
                   text["status"], text["health_status"], text["subsidy_group"],
                   _fen(row["premium"]))
            entry = cube.setdefault(key, [0, Decimal("0.00")])
            entry[0] += 1
            entry[1] += _fen(row["premium"]) - _fen(row.get("refund_amount") or 0)
    # As DuckDB orders them: nulls last.
    return sorted(((*k, n, w) for k, (n, w) in cube.items()),
                  key=lambda row: tuple((v is None, v if v is not None else 0) for v in row))


def _quarantine_and_cube(
    con: Any,
) -> tuple[set[tuple[str, int]], list[tuple[Any, ...]]]:
    """The places (file, row) of the quarantined enrolments, and the stored cube."""
    quarantined = {
        (Path(f).resolve().as_posix(), int(r))
        for f, r in con.execute("select _file, _row from quarantine_enrollment").fetchall()
    }
    cube = con.execute(
        "select policy_year, county_code, enroll_date, status, health_status,"
        " subsidy_group, premium, enrolments, written_premium from enrollment_cube order by all"
    ).fetchall()
    return quarantined, [tuple(r) for r in cube]


def _rules_and_cube(
    folder: Path, tmp_path: Path
) -> tuple[dict[str, str], set[tuple[str, int]], list[tuple[Any, ...]]]:
    """The rules of each quarantined member, the quarantined places and the stored cube."""
    dataset = open_dataset(folder, cache_dir=tmp_path / "cache")
    with dataset.connect() as con:
        rules = dict(con.execute("select member_id, _rules from quarantine_enrollment").fetchall())
        quarantined, cube = _quarantine_and_cube(con)
    return rules, quarantined, cube


@pytest.mark.parametrize("layout", ["file", "hive"])
def test_rows_broken_only_on_the_member_are_taken_out_of_the_cube(
    tmp_path: Path, layout: str
) -> None:
    """Rows the groups count before the member pass rejects them (a blank ID, a duplicate key)
    are subtracted from the cube once; a row broken on both sides is not subtracted twice.
    The cube must equal the accepted rows grouped independently."""
    tables = _two_years()
    tables["enrollment"] += [
        enrollment_row(member_id="  ", policy_year=2025, enroll_date="2024-12-01"),  # blank ID
        enrollment_row(member_id=None, policy_year=2025, enroll_date="2024-12-03",
                       refund_amount=12.5, status="cancelled"),
        enrollment_row(member_id=None, policy_year=2025, status="lapsed"),  # broken twice
        enrollment_row(member_id="A2", policy_year=2025, status="lapsed"),  # 3rd copy, broken
        enrollment_row(member_id=" A1", policy_year=2024, premium=99.5),  # trimmed: a duplicate
    ]
    folder = write_folder(tmp_path, layout=layout, files=2, **tables)  # type: ignore[arg-type]
    dataset = open_dataset(folder, cache_dir=tmp_path / "cache")
    with dataset.connect() as con:
        quarantined, cube = _quarantine_and_cube(con)
        claims = dict(con.execute("select claim_id, _rules from quarantine_claims").fetchall())
    # 3 from _two_years, the 4 rows with a broken member or status, and both copies of A1 2024
    assert len(quarantined) == 3 + 4 + 2
    assert cube == _oracle_cube(folder, quarantined)
    # A1 has no accepted enrolment in 2024 (duplicated) but has one in 2025.
    assert claims.get("C1") == "claim_without_enrollment" and "D1" not in claims


@pytest.mark.parametrize(("dates", "amounts"), [("date", "double"), ("string", "decimal")])
def test_values_with_stray_spaces_are_decided_on_their_trimmed_values(
    tmp_path: Path, dates: str, amounts: str
) -> None:
    """Rows are grouped, and the other columns listed, on their values as exported (trimming
    tens of millions of values is the costly part); each distinct value is then typed and
    trimmed as a row would be: a value with a stray space is accepted when valid, quarantined
    with the right rule when not. The cube must equal the accepted rows grouped independently."""
    tables = clean_tables()
    tables["enrollment"] += [
        enrollment_row(member_id="P1", channel=" bank "),  # valid once trimmed
        enrollment_row(member_id="P2", county_code=" 350402", subsidy_group="dibao "),
        enrollment_row(member_id="P3", sex=""),  # a blank optional value is null: valid
        enrollment_row(member_id="P4", scheme="resident ", status=" cancelled",
                       refund_amount=50.0),
        enrollment_row(member_id="P5", channel=" fax"),  # invalid once trimmed
        enrollment_row(member_id="P6", sex=" X "),
        enrollment_row(member_id="P7", refund_amount=-1.0),
        enrollment_row(member_id="P8", health_status="  "),  # a required value left blank
    ]
    folder = write_folder(tmp_path, dates=dates, amounts=amounts,  # type: ignore[arg-type]
                          **tables)
    rules, quarantined, cube = _rules_and_cube(folder, tmp_path)
    assert {k: v for k, v in rules.items() if k.startswith("P")} == {
        "P5": "invalid_value", "P6": "invalid_value", "P7": "negative_amount",
        "P8": "null_required"}
    assert cube == _oracle_cube(folder, quarantined)


@pytest.mark.parametrize("dates", ["date", "string"])
def test_white_space_is_trimmed_as_the_contract_says(tmp_path: Path, dates: str) -> None:
    """Trimming removes the space separators (the full-width space of Chinese input, the
    no-break space, ...) and the tab, line feed and carriage return at either end, nothing
    inside a value and no other control character; on the grouped columns, on the columns
    decided per distinct value and on the member IDs alike."""
    tables = clean_tables()
    tables["enrollment"] += [
        enrollment_row(member_id="W1", county_code="350402\u3000"),
        enrollment_row(member_id="W2", channel="\u00a0bank", sex="M\u2003"),
        enrollment_row(member_id="W3", status="active\r", health_status="healthy\t"),
        enrollment_row(member_id="W4", scheme="\tresident\r\n", subsidy_group="dibao\u3000 "),
        enrollment_row(member_id="W5\u3000"),  # the claim of W5 has an enrolment
        enrollment_row(member_id="W6"),
        enrollment_row(member_id="\u3000W6\t"),  # W6 again: both copies quarantined
        enrollment_row(member_id="W 7"),  # a space inside is part of the ID
        enrollment_row(member_id="W8", health_status="\u3000\u00a0"),  # blank
        enrollment_row(member_id="W9", channel="bank\x0b"),  # a vertical tab is not trimmed
        enrollment_row(member_id="W10", channel="bank\u200b"),  # nor a zero-width space
    ]
    tables["claims"] += [
        claim_row(member_id="W5", claim_id="CW5"),
        claim_row(member_id="W7\r", claim_id="CW7"),  # W7 is "W 7": no enrolment
        claim_row(member_id="\u3000W 7", claim_id="CW8"),
    ]
    folder = write_folder(tmp_path, dates=dates, **tables)  # type: ignore[arg-type]
    dataset = open_dataset(folder, cache_dir=tmp_path / "cache")
    with dataset.connect() as con:
        # The quarantine keeps each row's values as typed: both copies of W6 read "W6".
        assert con.execute(
            "select member_id, _rules from quarantine_enrollment where member_id like 'W%'"
            " order by all"
        ).fetchall() == [("W10", "invalid_value"), ("W6", "duplicate_key"),
                         ("W6", "duplicate_key"), ("W8", "null_required"),
                         ("W9", "invalid_value")]
        quarantined, cube = _quarantine_and_cube(con)
        claims = dict(con.execute("select claim_id, _rules from quarantine_claims").fetchall())
        accepted = {r[0] for r in con.execute("select member_id from claims").fetchall()}
    assert cube == _oracle_cube(folder, quarantined)
    assert claims == {"CW7": "claim_without_enrollment"}
    assert {"W5", "W 7"} <= accepted


def test_the_spaces_trimmed_are_the_unicode_space_separators_and_three_controls() -> None:
    """SPACES is every character of Unicode category Zs (what DuckDB's trim() removes by
    itself) and the tab, line feed and carriage return; the benchmark's pandas baseline trims
    the same characters."""
    zs = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Zs"}
    assert set(typed_sql.SPACES) == zs | {"\t", "\n", "\r"}
    assert len(typed_sql.SPACES) == len(set(typed_sql.SPACES))
    assert pandas_baseline.SPACES == typed_sql.SPACES
    with duckdb.connect() as con:
        kept = con.execute(
            "select list(c) from (select unnest($chars) as c) where trim(c) = ''",
            {"chars": sorted(zs | {"\t", "\n", "\r", "\x0b", "\u200b", "\ufeff"})},
        ).fetchall()[0][0]
    assert set(kept) == zs


@pytest.mark.parametrize(
    "dropped", [(), ("sex", "birth_year", "refund_amount", "subsidy_amount")]
)
def test_rules_on_the_other_columns_are_decided_once_per_distinct_value(
    tmp_path: Path, dropped: tuple[str, ...]
) -> None:
    """The rules on columns outside the cube (scheme, channel, sex, the amounts) are decided
    once per distinct value as exported, typed as a row would be; the rows holding a broken
    value are then found and decided exactly. With many distinct valid values, and with the
    optional columns absent (a constant, which breaks nothing)."""
    tables = clean_tables()
    tables["enrollment"] += [
        enrollment_row(member_id=f"N{i:03d}", birth_year=1900 + i, subsidy_amount=i / 4)
        for i in range(120)
    ]
    tables["enrollment"] += [
        enrollment_row(member_id="Q1", scheme="farmer"),
        enrollment_row(member_id="Q2", channel=None),
        enrollment_row(member_id="Q3", channel="fax"),
        enrollment_row(member_id="Q4", channel="fax"),  # the same broken value twice
        enrollment_row(member_id="Q5", scheme=" employee"),  # valid once trimmed
        enrollment_row(member_id="Q6", channel="bank", scheme="farmer"),  # two rules, one row
    ]
    expected = {"Q1": "invalid_value", "Q2": "null_required", "Q3": "invalid_value",
                "Q4": "invalid_value", "Q6": "invalid_value"}
    if not dropped:
        tables["enrollment"] += [
            enrollment_row(member_id="Q7", subsidy_amount=-3.0),
            enrollment_row(member_id="Q8", sex="male"),
            enrollment_row(member_id="Q9", sex=" M"),  # valid once trimmed
        ]
        expected |= {"Q7": "negative_amount", "Q8": "invalid_value"}
    folder = write_folder(tmp_path, drop_columns={"enrollment": dropped}, **tables)
    rules, quarantined, cube = _rules_and_cube(folder, tmp_path)
    assert rules == expected
    assert cube == _oracle_cube(folder, quarantined)


def _segments(cache: Path) -> set[str]:
    return {p.name for p in (cache / "segments").glob("enrollment-*.duckdb")}


def test_one_changed_year_is_the_only_one_scanned_again(tmp_path: Path) -> None:
    tables = _two_years()
    folder = write_folder(tmp_path, layout="hive", **tables)
    cache = tmp_path / "cache"
    first = open_dataset(folder, cache_dir=cache)
    assert len(_segments(cache)) == 2  # one per policy year
    built = _segments(cache)

    # A new 2025 claims export (same rows, a new file): 2024's segment is reused.
    claims_2025 = next((folder / "claims" / "policy_year=2025").glob("*.parquet"))
    pq.write_table(pq.read_table(claims_2025), claims_2025)
    os.utime(claims_2025, ns=(1, 1))
    second = open_dataset(folder, cache_dir=cache)
    assert second.fingerprint != first.fingerprint
    assert len(_segments(cache) - built) == 1
    assert second.report["tables"] == first.report["tables"]

    # The result is the same as a build from nothing.
    fresh = open_dataset(folder, cache_dir=tmp_path / "fresh")
    for table in ("enrollment_cube", "quarantine_claims", "claims"):
        with second.connect() as a, fresh.connect() as b:
            query = f"select * from {table} order by all"
            assert a.execute(query).fetchall() == b.execute(query).fetchall()


def test_a_year_is_read_from_parquet_statistics_without_hive_folders(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, layout="file", **_two_years())
    by_year = tmp_path / "by_year"
    by_year.mkdir()
    for table in ("basic_insured", "insurers", "expenses", "claims"):
        (by_year / f"{table}.parquet").write_bytes((folder / f"{table}.parquet").read_bytes())
    enrollment = pq.read_table(folder / "enrollment.parquet")
    (by_year / "enrollment").mkdir()
    for year in (2024, 2025):
        rows = enrollment.filter(enrollment.column("policy_year").to_numpy() == year)
        pq.write_table(rows, by_year / "enrollment" / f"export-{year}.parquet")
    cache = tmp_path / "cache"
    dataset = open_dataset(by_year, cache_dir=cache)
    assert len(_segments(cache)) == 2
    assert metrics_json(by_year, as_of="2025-12-31") == metrics_json(folder, as_of="2025-12-31")
    assert dataset.report["tables"]["enrollment"]["rows_quarantined"] == 3


def test_a_file_of_several_years_makes_one_segment(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, layout="file", **_two_years())
    cache = tmp_path / "cache"
    open_dataset(folder, cache_dir=cache)
    assert len(_segments(cache)) == 1


def test_the_cube_sums_to_the_accepted_rows(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path,
        basic_insured=[basic_insured_row("350402", 100)],
        enrollment=[
            enrollment_row(member_id="A1", premium=150.0, refund_amount=0.0),
            enrollment_row(member_id="A2", premium=150.0, refund_amount=0.0),
            enrollment_row(member_id="A3", premium=150.0, status="cancelled",
                           refund_amount=100.25),
            enrollment_row(member_id="A4", premium=99.99),
        ],
    )
    dataset = open_dataset(folder, cache_dir=tmp_path / "cache")
    with dataset.connect() as con:
        rows = con.execute(
            "select status, premium, enrolments, written_premium from enrollment_cube"
            " order by status, premium"
        ).fetchall()
    assert [(s, float(p), n, str(w)) for s, p, n, w in rows] == [
        ("active", 99.99, 1, "99.99"),
        ("active", 150.0, 2, "300.00"),
        ("cancelled", 150.0, 1, "49.75"),
    ]


def test_unused_stores_and_segments_are_pruned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache fed a new export every day must not fill the disk: stores and segments unused
    for $HMB_CACHE_KEEP_DAYS are deleted when a new store is built; those in use are kept."""
    cache = tmp_path / "cache"
    folder = write_folder(tmp_path, layout="hive", **_two_years())
    first = open_dataset(folder, cache_dir=cache)
    segments = sorted((cache / "segments").glob("*.duckdb"))
    stale = cache / "0123456789abcdef01234567.duckdb"
    stale.write_bytes(b"an old store")
    month_ago = time.time() - 31 * 86400
    for path in (stale, first.store, *segments):
        os.utime(path, (month_ago, month_ago))
    open_dataset(folder, cache_dir=cache)  # reopened: still in use
    monkeypatch.setenv("HMB_CACHE_KEEP_DAYS", "30")
    claims_2025 = next((folder / "claims" / "policy_year=2025").glob("*.parquet"))
    os.utime(claims_2025, ns=(1, 1))  # a new export of 2025: a new store is built
    second = open_dataset(folder, cache_dir=cache)
    assert not stale.exists()
    assert first.store.exists() and second.store.exists()
    # 2024's segment was reused (so kept); 2025's old segment was not and is gone.
    left = set((cache / "segments").glob("*.duckdb"))
    assert len(left & set(segments)) == 1
    assert len(left) == 2


@pytest.mark.parametrize("setting", ["0", "abc", "-3", "nan", " "])
def test_a_keep_days_setting_of_zero_or_nonsense_never_breaks_a_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    setting: str,
) -> None:
    """$HMB_CACHE_KEEP_DAYS of 0 deletes every unused store but never the one being opened; a
    value that is not a number of days is said on standard error and the default (30) used."""
    monkeypatch.setenv("HMB_CACHE_KEEP_DAYS", setting)
    cache = tmp_path / "cache"
    folder = write_folder(tmp_path, **clean_tables())
    stale = cache / "0123456789abcdef01234567.duckdb"
    cache.mkdir()
    stale.write_bytes(b"an old store")
    week_ago = time.time() - 7 * 86400
    os.utime(stale, (week_ago, week_ago))
    dataset = open_dataset(folder, cache_dir=cache)
    assert dataset.store.exists()
    assert dataset.report["tables"]["enrollment"]["rows_read"] > 0
    assert stale.exists() == (setting != "0")
    said = capsys.readouterr().err
    if setting.strip() in ("0", ""):
        assert "HMB_CACHE_KEEP_DAYS" not in said
    else:
        assert f"HMB_CACHE_KEEP_DAYS={setting!r}" in said and "30 days" in said


def test_enroll_dates_exported_as_timestamps_give_the_same_figures(tmp_path: Path) -> None:
    """A timestamp is cut to its date per row before the rows are grouped (grouping on the
    timestamps themselves would make a group of nearly every row); the figures, the cube and
    the quarantine are those of the same export with dates."""
    folder = write_folder(tmp_path, **_two_years())
    stamped = tmp_path / "stamped"
    stamped.mkdir()
    for file in folder.glob("*.parquet"):
        table = pq.read_table(file)
        if file.stem == "enrollment":
            at = table.schema.get_field_index("enroll_date")
            times = pc.add(table.column(at).cast(pa.timestamp("us")),
                                   pa.scalar(13 * 3600 * 10**6, pa.duration("us")))
            table = table.set_column(at, "enroll_date", times)
        pq.write_table(table, stamped / file.name)
    assert pq.read_schema(stamped / "enrollment.parquet").field("enroll_date").type == \
        pa.timestamp("us")
    assert metrics_json(stamped, as_of="2025-12-31") == metrics_json(folder, as_of="2025-12-31")
    assert _quarantined(stamped, tmp_path / "s") == _quarantined(folder, tmp_path / "f")
