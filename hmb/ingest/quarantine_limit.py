"""The quarantine limit of contract §8: a rule that catches too many rows of a table is a broken
export, not a few bad rows.

Row errors are quarantined and the rest is measured (contract §2). That is right for a row in
twenty thousand; it is wrong when half of ``claims.report_date`` does not parse: the metrics
would silently drop half the claims. So a table in which one rule quarantines more than
max(:data:`MIN_ROWS` rows, :data:`DEFAULT_SHARE` of the table's rows) is fatal for ``hmb
validate``, ``ingest``, ``metrics``, ``check`` and ``development`` (exit 2), unless
``--max-quarantined SHARE`` raises the share. The limit is counted per table and per rule (a
row caught by one rule on two columns counts once); the quarantine is written all the same.

The store is not changed by the limit: it is a verdict on the store's report, taken by each
command with its own share, so a store built once serves every limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import duckdb

from hmb.core import duckdb_files
from hmb.core.member_ids import mask_member_id
from hmb.core.sql import quote_ident, sql_string
from hmb.ingest.loading import InputError, Problem

DEFAULT_SHARE = 0.01
MIN_ROWS = 10


def parse_share(text: str) -> float:
    """A ``--max-quarantined`` value: a share from 0 to 1 (``0.05``; ``5%`` is read as 0.05).
    Raises ValueError with the reason otherwise (negative, above 1, not a number, nan)."""
    value = text.strip()
    percent = value.endswith("%")
    try:
        share = float(value.removesuffix("%")) / (100 if percent else 1)
    except ValueError:
        raise ValueError(f"'{text}' 不是比例 is not a share: give a number from 0 to 1,"
                         " e.g. 0.05 (or 5%)") from None
    if not math.isfinite(share) or not 0 <= share <= 1:
        raise ValueError(f"'{text}' 不在 0 到 1 之间 is not a share from 0 to 1 (e.g. 0.05"
                         " for 5 % of a table's rows; 1 lifts the limit)")
    return share


def limit_rows(table_rows: int, share: float = DEFAULT_SHARE) -> float:
    """The most rows one rule may quarantine in a table of ``table_rows`` rows."""
    return max(MIN_ROWS, share * table_rows)


@dataclass(frozen=True)
class Breach:
    """One rule of one table over the limit: what the message names."""

    table: str
    rule: str
    column: str | None
    rows: int
    table_rows: int
    limit: float
    example: Any
    file: str | None

    @property
    def share(self) -> float:
        return self.rows / self.table_rows if self.table_rows else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"table": self.table, "rule": self.rule, "column": self.column,
                "rows": self.rows, "table_rows": self.table_rows, "share": self.share,
                "limit_rows": self.limit, "example": self.example, "file": self.file}

    def problem(self, share: float) -> Problem:
        column = f"（列 {self.column}）" if self.column else ""
        column_en = f" (column {self.column})" if self.column else ""
        example = "" if self.example is None else f"{self.example!r}"
        at = f"，例如 {self.column or '行'} = {example}" if example else ""
        at_en = f"; for example {self.column or 'row'} = {example}" if example else ""
        where = f"（{self.file}）" if self.file else ""
        where_en = f" in {self.file}" if self.file else ""
        limit = f"max({MIN_ROWS} 行, {share:.4g} × {self.table_rows:,} 行) = {self.limit:,.0f} 行"
        limit_en = (f"max({MIN_ROWS} rows, {share:.4g} × {self.table_rows:,} rows) ="
                    f" {self.limit:,.0f} rows")
        return Problem(
            "quarantine_limit",
            f"表 {self.table} 中规则 {self.rule}{column}隔离了 {self.rows:,} / {self.table_rows:,}"
            f" 行（{self.share:.1%}），超过上限 {limit}{at}{where}。这不是个别坏行，而是导出有误："
            "请修正导出后重新提供；若确认无误，可用 --max-quarantined SHARE（0 到 1）提高上限。"
            "被隔离的行照常由 hmb validate 写出，供核对。"
            f" In table {self.table} the rule {self.rule}{column_en} quarantines"
            f" {self.rows:,} of {self.table_rows:,} rows ({self.share:.1%}), more than the limit"
            f" {limit_en}{at_en}{where_en}. That is a broken export, not a few bad rows: fix the"
            " export and deliver it again, or, if it is right, raise the limit with"
            " --max-quarantined SHARE (0 to 1). `hmb validate` writes the quarantined rows all the"
            " same, to look at.",
            table=self.table,
            file=self.file,
            column=self.column,
        )


def may_breach(report: dict[str, Any], share: float = DEFAULT_SHARE) -> bool:
    """Whether any table quarantined more rows than the limit at all (else no rule can have):
    the check that costs nothing, made before the store is opened."""
    return any(int(info["rows_quarantined"]) > limit_rows(int(info["rows_read"]), share)
               for info in report["tables"].values())


def breaches(
    con: duckdb.DuckDBPyConnection, report: dict[str, Any], share: float = DEFAULT_SHARE
) -> list[Breach]:
    """The rules over the limit in the store ``con`` whose validation report is ``report``."""
    found: list[Breach] = []
    for table, info in report["tables"].items():
        read = int(info["rows_read"])
        limit = limit_rows(read, share)
        if int(info["rows_quarantined"]) <= limit:
            continue  # no rule can quarantine more rows than the table's quarantine holds
        items = [e for e in report["errors"] if e["table"] == table]
        for rule in sorted({e["rule"] for e in items}):
            of_rule = [e for e in items if e["rule"] == rule]
            # A rule caught on two columns of one row counts that row once.
            rows = (sum(e["rows"] for e in of_rule) if len(of_rule) == 1
                    else _rows_caught(con, table, rule))
            if rows <= limit:
                continue
            first = max(of_rule, key=lambda e: (e["rows"], -of_rule.index(e)))
            found.append(Breach(table, rule, first["column"], rows, read, limit,
                                _example(con, table, first), first["file"]))
    return found


def check(con: duckdb.DuckDBPyConnection, report: dict[str, Any],
          share: float = DEFAULT_SHARE) -> None:
    """Raise InputError naming every rule over the limit (nothing when none is)."""
    over = breaches(con, report, share)
    if over:
        raise InputError([b.problem(share) for b in over])


def _rows_caught(con: duckdb.DuckDBPyConnection, table: str, rule: str) -> int:
    return int(con.execute(
        f"select count(*) from (select distinct _file, _row from"
        f" {quote_ident('quarantine_' + table)}, unnest(_errors) as u(e)"
        f" where e.rule = {sql_string(rule)})"
    ).fetchall()[0][0])


def _example(con: duckdb.DuckDBPyConnection, table: str, item: dict[str, Any]) -> Any:
    """The value of the rule's column in its first row: as the export wrote it (a value that
    could not be cast is null once typed), a member ID masked; the row when no column is named."""
    example = item.get("example") or {}
    column = item.get("column")
    if not column:
        return example or None
    if "," in column:  # a key of several columns (duplicate_key): those values
        return {name: example.get(name) for name in (c.strip() for c in column.split(","))}
    value = example.get(column)
    if value is None and item.get("file") and item.get("rule") == "unparseable_value":
        value = _raw_value(con, table, item)
    if column == "member_id" and value is not None:
        value = mask_member_id(str(value))
    return value


def _raw_value(con: duckdb.DuckDBPyConnection, table: str, item: dict[str, Any]) -> Any:
    """The text of the rule's column in the first row it caught, read back from the export by
    file and row number; None when it cannot be read back."""
    column = str(item["column"])
    try:
        found = con.execute(
            f"select min(_row) from {quote_ident('quarantine_' + table)},"
            " unnest(_errors) as u(e) where _file = $file and e.rule = $rule"
            " and e.column = $column",
            {"file": item["file"], "rule": item["rule"], "column": column},
        ).fetchall()[0][0]
        if found is None:
            return None
        with duckdb_files.connect() as raw:
            row = raw.execute(
                f"select cast({quote_ident(column)} as varchar) from"
                f" read_parquet({sql_string(item['file'])}, file_row_number = true)"
                f" where file_row_number = {int(found)}"
            ).fetchone()
    except duckdb.Error:
        return None
    return None if row is None else row[0]
