"""The metric queries: one SQL file per metric, named for what it returns.

Every file opens with a header (what it returns, its grain, its parameters and the clause it
serves). Parameters are bound by name (``$as_of``), never formatted into the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import polars as pl

QUERIES_DIR = Path(__file__).resolve().parent


@cache
def load(name: str) -> str:
    """The text of ``queries/<name>.sql``."""
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")


def available() -> list[str]:
    return sorted(p.stem for p in QUERIES_DIR.glob("*.sql"))


@contextmanager
def _result(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]
) -> Iterator[duckdb.DuckDBPyRelation]:
    """A named query's result on a fresh cursor, closed once it has been read."""
    cursor = con.cursor()
    try:
        yield cursor.sql(load(name), params=params or None)
    finally:
        cursor.close()


def run(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> pl.DataFrame:
    """Run a named query and return its (small, aggregated) result as a Polars frame (DuckDB
    imports Polars and pyarrow on first use: the command line, which needs neither, calls
    :func:`rows`)."""
    with _result(con, name, params) as result:
        frame: pl.DataFrame = result.pl()
        return frame


def rows(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run a named query and return its rows as plain dictionaries, column by column in order."""
    with _result(con, name, params) as result:
        return result.to_dicts()
