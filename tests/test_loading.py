"""Reading a data folder (hmb.ingest.loading): the footers, one DuckDB call per table for every
file; links followed or refused, never skipped; partition folders that say something false
refused; and a column whose type differs between files read without losing a row."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hmb.core import duckdb_files
from hmb.ingest.loading import Footer, Problem, TableSource, read_footers
from hmb.ingest.table_checks import TableChecks
from tests.builders import claim_row, clean_tables, enrollment_row, run_cli, write_folder


def test_footers_give_each_files_columns_and_year(tmp_path: Path) -> None:
    """Nested columns count once, by their top-level name; a file's policy year comes from its
    folder, or from its statistics when every row group holds one year; a damaged file is a
    problem of its own and the others are still read."""
    nested = tmp_path / "export-2024.parquet"
    pq.write_table(pa.table({
        "policy_year": pa.array([2024, 2024], pa.int32()),
        "detail": [{"a": 1, "b": {"c": 2}}, {"a": 3, "b": {"c": 4}}],
        "member_id": ["Z1", "Z2"],
    }), nested)
    mixed = tmp_path / "export-mixed.parquet"
    pq.write_table(pa.table({"policy_year": pa.array([2024, 2025], pa.int32())}), mixed)
    (tmp_path / "policy_year=2026").mkdir()
    named = tmp_path / "policy_year=2026" / "part-0.parquet"
    pq.write_table(pa.table({"member_id": ["Z3"]}), named)
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(b"member_id,premium\nA1,150\n")
    with duckdb_files.connect() as con:
        footers = read_footers(con, [nested, mixed, named, damaged], "enrollment")
    assert footers[nested] == Footer(frozenset({"policy_year", "detail", "member_id"}), 2024)
    assert footers[mixed] == Footer(frozenset({"policy_year"}), None)  # two years in one file
    assert footers[named] == Footer(frozenset({"member_id", "policy_year"}), 2026)
    problem = footers[damaged]
    assert isinstance(problem, Problem) and problem.code == "unreadable_file"
    assert problem.file == str(damaged)


# --- reading that loses nothing: links, partition folders, types that drift between files ----


def _two_years(layout: str = "hive", amounts: str = "decimal") -> Path:
    """clean_tables() for 2024 and the same people in 2025, every table hive-partitioned."""
    tables = clean_tables()
    for name in ("basic_insured", "insurers", "expenses"):
        tables[name] += [{**row, "policy_year": 2025} for row in tables[name]]
    tables["enrollment"] += [
        enrollment_row(member_id=m, policy_year=2025, enroll_date="2024-12-01")
        for m in ("A1", "A2", "A3")
    ]
    tables["claims"] += [
        claim_row(member_id="A1", claim_id="D1", policy_year=2025, service_date="2025-03-01",
                  report_date="2025-03-02", settle_date="2025-03-10", paid_amount=2500.0),
    ]
    return tables  # type: ignore[return-value]


def _folder(root: Path, name: str = "data") -> Path:
    return write_folder(root, layout="hive", amounts="decimal", name=name,
                        **_two_years())  # type: ignore[arg-type]


def _validate(folder: Path, *extra: object) -> tuple[int, dict[str, Any], str]:
    result = run_cli("validate", folder, "--format", "json", *extra)
    assert "Traceback" not in result.text
    return result.code, result.json(), result.err


def _reconciles(report: dict[str, Any]) -> None:
    for name, counts in report["tables"].items():
        assert counts["rows_read"] == counts["rows_accepted"] + counts["rows_quarantined"], name


def _metrics(folder: Path) -> tuple[int, str]:
    result = run_cli("metrics", folder, "--profile", "sanming-2024", "--as-of", "2025-06-30",
                     "--format", "json")
    assert "Traceback" not in result.text
    return result.code, result.out if result.code == 0 else result.err


def test_a_linked_partition_folder_is_read_like_a_real_one(tmp_path: Path) -> None:
    """A bureau may keep one year's folder elsewhere and link it in: its rows are read, not
    skipped (before: 2025's claims were left out, with exit 0 and 2025's claims paid 0)."""
    plain = _folder(tmp_path / "plain")
    linked = _folder(tmp_path / "linked")
    elsewhere = tmp_path / "archive" / "claims-2025"
    elsewhere.parent.mkdir()
    shutil.move(linked / "claims" / "policy_year=2025", elsewhere)
    (linked / "claims" / "policy_year=2025").symlink_to(elsewhere, target_is_directory=True)
    code, report, _ = _validate(linked)
    assert code == 0
    assert report["tables"]["claims"]["rows_read"] == 4
    assert report["tables"]["claims"]["rows_accepted"] == 4
    _reconciles(report)
    assert _metrics(linked) == _metrics(plain)


def test_a_linked_file_is_read_like_a_real_one(tmp_path: Path) -> None:
    plain = _folder(tmp_path / "plain")
    linked = _folder(tmp_path / "linked")
    part = linked / "enrollment" / "policy_year=2024" / "part-0.parquet"
    kept = tmp_path / "kept.parquet"
    shutil.move(part, kept)
    part.symlink_to(kept)
    single = linked / "insurers.parquet"
    pq.write_table(pq.read_table(linked / "insurers"), tmp_path / "insurers-kept.parquet")
    shutil.rmtree(linked / "insurers")
    single.symlink_to(tmp_path / "insurers-kept.parquet")
    code, report, _ = _validate(linked)
    assert code == 0
    assert report["tables"]["enrollment"]["rows_read"] == 7
    assert report["tables"]["insurers"]["rows_read"] == 4
    assert _metrics(linked) == _metrics(plain)


@pytest.mark.parametrize("kind", ["missing-file", "missing-folder", "self", "loop"])
def test_a_broken_or_looping_link_is_refused_by_name(tmp_path: Path, kind: str) -> None:
    """A link whose target is gone, that points at itself or that leads back to a folder above
    it stops the command (exit 2) with the link's name: never skipped, never followed forever."""
    folder = _folder(tmp_path)
    year = folder / "claims" / "policy_year=2025"
    link = {
        "missing-file": year / "part-1.parquet",
        "missing-folder": folder / "claims" / "policy_year=2026",
        "self": year / "part-9.parquet",
        "loop": year / "again",
    }[kind]
    target = {
        "missing-file": tmp_path / "gone.parquet",
        "missing-folder": tmp_path / "gone",
        "self": link,
        "loop": folder / "claims",
    }[kind]
    link.symlink_to(target)
    for command in (("validate", folder), ("metrics", folder, "--profile", "sanming-2024")):
        result = run_cli(*command)
        assert "Traceback" not in result.text
        assert result.code == 2, result.text
        assert str(link) in result.err


def test_two_links_to_one_file_are_refused(tmp_path: Path) -> None:
    """The same file reached twice would count its rows twice."""
    folder = _folder(tmp_path)
    year = folder / "enrollment" / "policy_year=2024"
    (year / "part-1.parquet").symlink_to(year / "part-0.parquet")
    code, report, err = _validate(folder)
    assert code == 2
    assert str(year / "part-1.parquet") in err and str(year / "part-0.parquet") in err
    assert report["fatal"][0]["table"] == "enrollment"


def test_a_partition_folder_whose_value_is_not_of_the_columns_type_is_refused(
    tmp_path: Path,
) -> None:
    """``policy_year=2O24`` (a letter O): before, its rows got a null year, validation passed
    and ``hmb metrics`` ended in a traceback."""
    folder = _folder(tmp_path)
    bad = folder / "enrollment" / "policy_year=2O24"
    (folder / "enrollment" / "policy_year=2024").rename(bad)
    code, report, err = _validate(folder)
    assert code == 2
    assert str(bad) in err and "policy_year" in err and "2O24" in err
    [problem] = report["fatal"]
    assert (problem["table"], problem["column"]) == ("enrollment", "policy_year")
    for command in ("metrics", "check"):
        result = run_cli(command, folder, "--profile", "sanming-2024")
        assert "Traceback" not in result.text
        assert result.code == 2, result.text
        assert str(bad) in result.err


def test_a_partition_folder_that_contradicts_the_files_column_is_refused(
    tmp_path: Path,
) -> None:
    """The folder says 2025, the file's own policy_year column says 2024 for both of its rows:
    before, the folder won silently. The message names the file, the column, both values and
    the rows; a file whose column agrees with its folder is fine."""
    folder = _folder(tmp_path)
    part = folder / "claims" / "policy_year=2025" / "part-0.parquet"
    rows = pq.read_table(part)
    pq.write_table(rows.append_column("policy_year", pa.array([2025] * rows.num_rows,
                                                                   pa.int32())), part)
    agreeing, report, _ = _validate(folder)
    assert agreeing == 0, report["fatal"]
    pq.write_table(rows.append_column("policy_year", pa.array([2024] * rows.num_rows,
                                                                   pa.int32())), part)
    code, report, err = _validate(folder)
    assert code == 2
    assert str(part) in err and "policy_year" in err and "2025" in err and "2024" in err
    assert "1 " in err  # the one row of that file
    [problem] = report["fatal"]
    assert (problem["table"], problem["file"], problem["column"]) == (
        "claims", str(part), "policy_year"
    )


def _as_text(part: Path, column: str, replace: dict[str, str] | None = None) -> None:
    """Rewrite one file with ``column`` as text (the other files keep DECIMAL)."""
    rows = pq.read_table(part)
    values = [None if v is None else str(v) for v in rows.column(column).to_pylist()]
    values = [(replace or {}).get(v, v) if v is not None else None for v in values]
    index = rows.schema.get_field_index(column)
    pq.write_table(rows.set_column(index, column, pa.array(values, pa.string())), part)


def test_a_column_typed_differently_in_one_years_file_gives_the_same_answer(
    tmp_path: Path,
) -> None:
    """String amounts in one year's claims and enrollment files, DECIMAL in the other year's:
    before, the whole folder stopped with a binder error blamed on the enrollment table."""
    plain = _folder(tmp_path / "plain")
    drifted = _folder(tmp_path / "drifted")
    _as_text(drifted / "claims" / "policy_year=2025" / "part-0.parquet", "paid_amount")
    _as_text(drifted / "enrollment" / "policy_year=2024" / "part-0.parquet", "premium")
    code, report, err = _validate(drifted)
    assert code == 0, err
    _, plain_report, _ = _validate(plain)
    assert report["tables"] == {
        name: {**counts, "files": report["tables"][name]["files"]}
        for name, counts in plain_report["tables"].items()
    }
    assert _metrics(drifted) == _metrics(plain)


def test_a_value_that_does_not_parse_in_a_drifting_file_is_quarantined_there(
    tmp_path: Path,
) -> None:
    """Row by row, with the right table and the right file in the report and the quarantine."""
    folder = _folder(tmp_path)
    claims = folder / "claims" / "policy_year=2025" / "part-0.parquet"
    enrollment = folder / "enrollment" / "policy_year=2024" / "part-0.parquet"
    _as_text(claims, "paid_amount", {"2500.00": "两千五"})
    _as_text(enrollment, "premium", {"150.00": "150 元"})
    # Dates as the number 20241201 in 2025's file, DATE in 2024's: DuckDB cannot even put
    # those two files together by name (INTEGER -> DATE fails while reading).
    later = folder / "enrollment" / "policy_year=2025" / "part-0.parquet"
    rows = pq.read_table(later)
    pq.write_table(rows.set_column(rows.schema.get_field_index("enroll_date"), "enroll_date",
                                   pa.array([20241201] * rows.num_rows, pa.int32())), later)
    code, report, err = _validate(folder, "--quarantine-dir", tmp_path / "held")
    assert code == 0, err
    _reconciles(report)
    found = {(e["table"], e["rule"], e["column"], e["file"], e["rows"]) for e in report["errors"]
             if e["rule"] == "unparseable_value"}
    assert found == {
        ("claims", "unparseable_value", "paid_amount", str(claims), 1),
        ("enrollment", "unparseable_value", "premium", str(enrollment), 4),
        ("enrollment", "unparseable_value", "enroll_date", str(later), 3),
    }
    assert report["tables"]["claims"]["rows_read"] == 4
    assert report["tables"]["enrollment"]["rows_read"] == 7
    [held] = [r for r in pq.read_table(tmp_path / "held" / "claims.parquet").to_pylist()
              if r["claim_id"] == "D1"]
    assert (held["paid_amount"], held["_file"], held["_rules"]) == (
        "两千五", str(claims), "claim_without_enrollment,unparseable_value"
    )
    enrolments = pq.read_table(tmp_path / "held" / "enrollment.parquet").to_pylist()
    assert sorted((r["premium"], r["enroll_date"]) for r in enrolments) == [
        ("150 元", "2023-12-01")] * 4 + [("150.00", "20241201")] * 3


def test_claims_that_cannot_be_read_are_blamed_on_the_claims(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The enrollment scan reads the claims' keys: a DuckDB error there names the claims and
    their files, not the enrollment (before: "Reading table 'enrollment' failed")."""
    folder = _folder(tmp_path)
    typed_view = TableChecks._typed_view

    def failing(self: TableChecks, source: TableSource) -> None:
        if source.table.name == "claims":
            self.con.execute("select contains(1.5::decimal(18, 2), 'x')")
        typed_view(self, source)

    monkeypatch.setattr(TableChecks, "_typed_view", failing)
    code, report, err = _validate(folder)
    assert code == 2
    [problem] = report["fatal"]
    assert problem["table"] == "claims"
    assert "'claims'" in err and "'enrollment'" not in err
    assert str(folder / "claims") in problem["file"]
