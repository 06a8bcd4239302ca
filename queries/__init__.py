"""The metric queries: one SQL file per metric, named for what it returns.

Every file opens with a header (what it returns, its grain, its parameters and the clause it
serves). Parameters are bound by name (``$as_of``), never formatted into the text.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

QUERIES_DIR = Path(__file__).resolve().parent


@cache
def load(name: str) -> str:
    """The text of ``queries/<name>.sql``."""
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")


def available() -> list[str]:
    return sorted(p.stem for p in QUERIES_DIR.glob("*.sql"))


def run(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> pl.DataFrame:
    """Run a named query on a fresh cursor and return its (small, aggregated) result."""
    cursor = con.cursor()
    try:
        frame: pl.DataFrame = cursor.sql(load(name), params=params or None).pl()
        return frame
    finally:
        cursor.close()
