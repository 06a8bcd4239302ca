"""DuckDB databases, opened one way: the validated stores, the scoped views and the scratch
connections that read footers and exports.

DuckDB draws a progress bar on standard output for any statement that runs longer than two
seconds, wherever that output goes. ``hmb metrics --format json`` writes its answer to standard
output, so a slow build on a large export would put the bar in the middle of the JSON a batch
job reads. Every connection of the product is therefore opened here, with the bar off.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb


def connect(
    path: Path | str = ":memory:",
    *,
    read_only: bool = False,
    config: Mapping[str, str | bool | int | float | list[str]] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to ``path`` (in memory by default), with ``config`` and no progress
    bar on standard output (a setting of the connection, not of the database)."""
    con = duckdb.connect(str(path), read_only=read_only, config=dict(config or {}))
    con.execute("set enable_progress_bar = false")
    return con
