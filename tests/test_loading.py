"""Reading the tables' footers (hmb.ingest.loading): one DuckDB call per table for every file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hmb.core import duckdb_files
from hmb.ingest.loading import Footer, Problem, _read_footers


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
        footers = _read_footers(con, [nested, mixed, named, damaged], "enrollment")
    assert footers[nested] == Footer(frozenset({"policy_year", "detail", "member_id"}), 2024)
    assert footers[mixed] == Footer(frozenset({"policy_year"}), None)  # two years in one file
    assert footers[named] == Footer(frozenset({"member_id", "policy_year"}), 2026)
    problem = footers[damaged]
    assert isinstance(problem, Problem) and problem.code == "unreadable_file"
    assert problem.file == str(damaged)
