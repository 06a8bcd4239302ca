"""Validation of a data folder against the contract (docs/contract.md §2), inside DuckDB.

:class:`Validator` checks the tables of a folder in the order their rules need (enrollment needs
accepted basic_insured, claims accepted enrollment, expenses accepted insurers): enrollment by
hmb.ingest.enrollment_scan, every other table by hmb.ingest.table_checks; then
:func:`summarise` writes the report.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import duckdb

from hmb.core.member_ids import mask_member_id
from hmb.core.schema import SQL_TYPE, TABLES, TABLES_BY_NAME, Table
from hmb.core.sql import quote_ident, sql_string
from hmb.ingest import enrollment_scan
from hmb.ingest.loading import InputError, Problem, TableSource
from hmb.ingest.table_checks import TableChecks, unreadable_as_input_error


class Validator(TableChecks):
    """Builds the checked, accepted and quarantine tables of one data folder in ``con``."""

    def run(self) -> None:
        """Create raw views, run column checks (raising InputError), then build every table."""
        problems: list[Problem] = []
        self.con.execute(
            "create or replace table _counts (table_name varchar, rows_read bigint,"
            " rows_quarantined bigint, rows_with_warnings bigint)"
        )
        for source in self.sources.values():
            self._create_raw_view(source)
            # Enrollment's raw-ID check rides on its member pass (hmb.ingest.enrollment_scan).
            problems.extend(
                self._column_checks(source, raw_ids=source.table.name != "enrollment")
            )
        if problems:
            raise InputError(problems)
        # The claims are checked on a second connection while enrollment is built (the
        # enrollment scans leave one core idle about a fifth of the time); only the rule that
        # needs the enrollment is decided afterwards, on the stored claims.
        claims = self.sources.get("claims")
        with ThreadPoolExecutor(max_workers=1) as beside:
            claims_rows = (
                beside.submit(self._claim_rows_beside, claims)
                if claims is not None and "enrollment" in self.sources
                else None
            )
            for table in VALIDATION_ORDER:
                found = self.sources.get(table.name)
                if found is None:
                    self._create_empty(table)
                    continue
                with unreadable_as_input_error(found):
                    self._build_table(found, claims_rows)

    def _build_table(self, found: TableSource, claims_rows: Future[None] | None) -> None:
        """One table checked and stored: enrollment by hmb.ingest.enrollment_scan, the claims
        checked
        beside it finished here (``claims_rows``), every other table by :meth:`_check_table`."""

        if found.table.name == "enrollment":
            enrollment_scan.build(
                self, found, self.sources.get("claims"), self.segments, self.version
            )
        elif found.table.name == "claims" and claims_rows is not None:
            claims_rows.result()
            self._decide_later(found, _AFTER_ENROLLMENT)
            self._split_checked(found)
        else:
            self._check_table(found)

    def _claim_rows_beside(self, claims: TableSource) -> None:
        """:meth:`_check_rows` of the claims on a connection of its own (its own raw and typed
        views: the enrollment scan narrows the shared ones to one year)."""
        beside = self.beside()
        try:
            beside._create_raw_view(claims)
            beside._check_rows(claims, later=_AFTER_ENROLLMENT)
        finally:
            beside.con.close()

    def _create_empty(self, table: Table) -> None:

        columns = ", ".join(f"{quote_ident(c.name)} {SQL_TYPE[c.kind]}" for c in table.columns)
        if table.name == "enrollment":
            enrollment_scan.create_empty(self.con)
        else:
            self.con.execute(f"create or replace table {table.name} ({columns})")
        self.con.execute(
            f"create or replace table quarantine_{table.name} ({columns}, _file varchar, "
            '_row bigint, _rules varchar, _errors struct(rule varchar, "column" varchar)[])'
        )
        self.con.execute(
            f"create or replace table warned_{table.name} ({columns}, _file varchar, "
            '_row bigint, _warnings struct(rule varchar, "column" varchar)[])'
        )


# The claims' rule that reads the enrollment: decided once enrollment is built.
_AFTER_ENROLLMENT = frozenset({"claim_without_enrollment"})


# Enrollment needs accepted basic_insured, claims accepted enrollment, expenses accepted insurers.
VALIDATION_ORDER = tuple(
    TABLES_BY_NAME[name]
    for name in (
        "basic_insured",
        "subsidy_eligible",
        "insurers",
        "expenses",
        "enrollment",
        "claims",
    )
)


def summarise(con: duckdb.DuckDBPyConnection, sources: dict[str, TableSource]) -> dict[str, Any]:
    """The validation report: counts per table, and per rule the rows caught and an example."""
    tables: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    counts = {
        name: (read, quarantined, warned)
        for name, read, quarantined, warned in con.execute(
            "select table_name, sum(rows_read), sum(rows_quarantined), sum(rows_with_warnings)"
            " from _counts group by table_name"
        ).fetchall()
    }
    for table in TABLES:
        if table.name not in sources:
            continue
        read, quarantined, warned = counts[table.name]
        tables[table.name] = {
            "rows_read": int(read),
            "rows_accepted": int(read - quarantined),
            "rows_quarantined": int(quarantined),
            "rows_with_warnings": int(warned),
            "files": sources[table.name].parquet_list,
        }
        errors.extend(_rule_counts(con, table, "quarantine", "_errors"))
        warnings.extend(_rule_counts(con, table, "warned", "_warnings"))
    return {"tables": tables, "errors": errors, "warnings": warnings}


def _rule_counts(
    con: duckdb.DuckDBPyConnection, table: Table, prefix: str, kind: str
) -> list[dict[str, Any]]:
    key_cols = [c.name for c in table.columns]
    example_cols = ", ".join(
        f"{sql_string(c)}: cast({quote_ident(c)} as varchar)" for c in key_cols
    )
    rows = con.execute(
        f"with hits as (\n"
        f"  select unnest({kind}) as hit, _file, _row, {{{example_cols}}} as example\n"
        f"  from {prefix}_{table.name}\n"
        f")\n"
        f"select hit.rule, hit.column, count(*) as n,\n"
        f"  arg_min(example, (_file, _row)) as example,\n"
        f"  arg_min(_file, (_file, _row)) as file, min(_row) filter (where true) as first_row\n"
        f"from hits group by all order by hit.rule, hit.column"
    ).fetchall()
    result = []
    for rule, column, count, example, file, _ in rows:
        masked = dict(example)
        if masked.get("member_id"):
            masked["member_id"] = mask_member_id(str(masked["member_id"]))
        result.append(
            {
                "table": table.name,
                "rule": rule,
                "column": column,
                "rows": int(count),
                "file": file,
                "example": masked,
            }
        )
    return result
