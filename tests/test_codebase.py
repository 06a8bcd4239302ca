"""Completeness: lint and types clean, every SQL file has its header, generated docs current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import queries
from hmb.tools.docs import rendered_pages

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HEADER_FIELDS = ("name:", "returns:", "grain:", "parameters:", "serves:")


@pytest.mark.parametrize("name", queries.available())
def test_every_sql_file_has_its_header(name: str) -> None:
    text = queries.load(name)
    header = "\n".join(line for line in text.splitlines() if line.startswith("--"))
    for field in HEADER_FIELDS:
        assert f"-- {field}" in header or re.search(rf"--\s+{field}", header), (name, field)
    assert f"name:        {name}" in header or f"name: {name}" in header
    # A clause is cited: a document number such as 明政办规〔2023〕5号.
    assert re.search(r"〔\d{4}〕\d+号", header), name


@pytest.mark.parametrize("name", queries.available())
def test_sql_binds_parameters_never_formats_them(name: str) -> None:
    text = queries.load(name)
    assert "{" not in text and "%s" not in text, name


@pytest.mark.parametrize("page", sorted(rendered_pages(), key=str), ids=lambda p: p.name)
def test_generated_docs_are_current(page: Path) -> None:
    assert page.read_text(encoding="utf-8") == rendered_pages()[page], (
        f"{page} is stale: run `uv run python -m hmb.tools.docs`"
    )


def test_ruff_is_clean() -> None:
    result = subprocess.run([BIN / "ruff", "check", "."], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = subprocess.run([BIN / "mypy"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_duckdb_connection_is_opened_quietly() -> None:
    """DuckDB draws a progress bar on standard output during a long statement, which would land
    in the middle of `hmb metrics --format json`: the product opens its DuckDB connections only
    through hmb.core.duckdb_files, which turns the bar off."""
    from hmb.core import duckdb_files  # noqa: PLC0415

    with duckdb_files.connect() as con:
        assert con.execute("select current_setting('enable_progress_bar')").fetchall() == [
            (False,)]
    direct = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("hmb", "dashboard", "queries", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "duckdb_files.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "duckdb.connect(" in line
    ]
    assert direct == []
