"""One table checked against the contract (docs/contract.md §2), inside DuckDB.

Every input table goes through the same three steps, all in SQL over the parquet files:

1. **Column checks** (one aggregate scan): a column whose every value fails its cast, or a
   resident ID number in any form (hmb.core.member_ids) in any column, is fatal.
2. **Row rules**: each row gets the list of rules it breaks. Errors quarantine the row (it is kept
   in ``quarantine_<table>`` with the rules, its file and its row number, and excluded from
   metrics); warnings are only counted.
3. **Accepted table**: the typed, accepted rows under the table's own name, which the metric
   queries read.

How the tables of a folder are put together, in which order, is hmb.ingest.validation's.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import duckdb

from hmb.core.counties import outside_counties
from hmb.core.member_ids import mask_id_number, raw_id_sql
from hmb.core.schema import Column, Table
from hmb.core.sql import quote_ident, sql_string
from hmb.ingest.loading import InputError, Problem, TableSource
from hmb.ingest.row_rules import RULES_OF_ERRORS, RuleCheck, any_broken, hit_list
from hmb.ingest.typed_sql import (
    always_casts,
    hive_values_cast,
    raw_is_null,
    typed_expr,
    typed_items,
)

# The columns a table is made with beside its own while it is checked (Validator._check_rows).
_VERDICT_COLUMNS = ("_file_index", "_row", "_broken", "_warned", "_errors", "_warnings")

class TableChecks:
    """Builds the checked, accepted and quarantine tables of one data folder in ``con``."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        sources: dict[str, TableSource],
        liability_codes: frozenset[str] | None = None,
        segments: Path | None = None,
        version: str = "",
        *,
        insured_elsewhere: str | None = None,
    ) -> None:
        self.con = con
        self.sources = sources
        self.liability_codes = liability_codes
        # The jurisdiction's code when its rulebook accepts members insured in a county outside
        # it (hmb.rulebook.profiles.Profile.insured_elsewhere), else None.
        self.insured_elsewhere = insured_elsewhere
        self.segments = segments  # where per-year enrollment results are kept (or None)
        self.version = version  # the code version, part of every segment's key
        self.raw_types: dict[str, dict[str, str]] = {}  # per table, from the files' schemas
        self.private_views = False  # raw views temporary, of this connection only (beside())

    # -- step 0: raw views -------------------------------------------------------------------
    def beside(self) -> Self:
        """This validator on a connection of its own to the same database, whose raw views are
        its own (temporary): work that runs beside this connection's cannot change them."""
        beside = copy.copy(self)
        beside.con = self.con.cursor()
        beside.private_views = True
        return beside

    def _create_raw_view(self, source: TableSource) -> None:
        name = source.table.name
        self.con.execute(
            # _file_index numbers the files in the order given: a row is (_file_index, its row).
            # A column whose type differs between the files is read as text (TableSource.as_text)
            # in every view of the table, one year's files or all: the views' types agree.
            f"create or replace {'temp ' if self.private_views else ''}view raw_{name} as\n"
            + source.relation()
        )

    # -- step 1: column checks ---------------------------------------------------------------
    def _column_checks(self, source: TableSource, raw_ids: bool = True) -> list[Problem]:
        """Fatal column problems. A column whose parquet type always casts to the contract's
        type is not scanned. Every column that can hold a resident ID number is scanned for one;
        ``raw_ids=False`` scans only the columns the contract does not name, and leaves the
        contract's to the caller (hmb.ingest.enrollment_scan: it scans a province's rows)."""
        table = source.table
        try:
            raw_types = dict(
                self.con.execute(
                    f"select column_name, column_type from (describe raw_{table.name})"
                ).fetchall()
            )
        except duckdb.Error as exc:
            return [_unreadable(source, exc)]
        self.raw_types[table.name] = {str(k): str(v) for k, v in raw_types.items()}
        present = [
            c
            for c in table.columns
            if c.name in source.columns
            and not always_casts(str(raw_types.get(c.name)), c.kind)
            and not hive_values_cast(source, c)
        ]
        checks: list[str] = []
        for col in present:
            ident = quote_ident(col.name)
            typed = typed_expr(col, True, default=False)
            checks.append(f"count(*) filter (where not {raw_is_null(col)})")
            checks.append(f"count(*) filter (where not {raw_is_null(col)} and {typed} is null)")
            checks.append(
                f"any_value(cast({ident} as varchar)) filter "
                f"(where not {raw_is_null(col)} and {typed} is null)"
            )
        scanned = _id_columns(source, self.raw_types[table.name], contract=raw_ids)
        for name, looks_raw in scanned:
            checks.append(f"count(*) filter (where {looks_raw})")
            checks.append(f"any_value({quote_ident(name)}) filter (where {looks_raw})")
            checks.append(f"any_value(filename) filter (where {looks_raw})")
        if not checks:
            return []
        try:
            row = self.con.execute(f"select {', '.join(checks)} from raw_{table.name}").fetchall()[
                0
            ]
        except duckdb.Error as exc:
            return [_unreadable(source, exc)]
        problems: list[Problem] = []
        for i, col in enumerate(present):
            non_null, failed, example = row[3 * i], row[3 * i + 1], row[3 * i + 2]
            if non_null and failed == non_null:
                problems.append(self._uncastable(source, col, int(failed), example))
        for i, (name, _) in enumerate(scanned, start=len(present)):
            count, example, file = row[3 * i : 3 * i + 3]
            if count:
                problems.append(
                    _raw_id_problem(table, name, int(count), example, str(file))
                )
        return problems

    def _uncastable(self, source: TableSource, col: Column, rows: int, example: Any) -> Problem:
        expected = {
            "integer": "整数 an integer",
            "amount": "金额（元）a number of yuan",
            "date": "日期 a DATE or an ISO date string YYYY-MM-DD",
            "boolean": "布尔值 true/false",
            "share": "0–1 之间的小数 a fraction",
        }.get(col.kind, col.kind)
        files = ", ".join(source.parquet_list[:3]) + (" …" if len(source.files) > 3 else "")
        return Problem(
            "uncastable_column",
            f"数据表 {source.table.name} 的列 {col.name} 无法转换为{expected}："
            f"全部 {rows} 个非空值都不符合，例如 {example!r}。"
            f" Column '{col.name}' of table '{source.table.name}' ({files})"
            f" cannot be read as {expected}: none of its {rows} values casts, e.g. {example!r}."
            " Fix the column's type or format in the export (see docs/contract.md).",
            table=source.table.name,
            file=source.parquet_list[0],
            column=col.name,
        )

    # -- step 2: row rules -------------------------------------------------------------------
    def _rule_checks(
        self, table: Table, present: set[str]
    ) -> tuple[list[RuleCheck], list[RuleCheck]]:
        """The error and warning conditions of a table, each a SQL predicate over ``t``."""
        errors: list[RuleCheck] = []
        warnings: list[RuleCheck] = []

        def hit(
            target: list[RuleCheck], rule: str, condition: str, column: str | None = None
        ) -> None:
            target.append(RuleCheck(rule, condition, column))

        raw_types = self.raw_types.get(table.name, {})
        for col in table.columns:
            if col.name not in present:
                continue  # a missing required column is fatal (loading.discover)
            if col.required and col.kind in ("string", "county_code"):
                # A text value is null once typed exactly when it was null or blank.
                hit(errors, "null_required", f"t.{quote_ident(col.name)} is null", col.name)
            elif col.required:
                hit(errors, "null_required", quote_ident(f"_null:{col.name}"), col.name)
            # A column whose type in the files always casts (an INTEGER birth year, a
            # DECIMAL(18,2) amount) cannot break it: not tested, nor listed for the census.
            if col.kind not in ("string", "county_code") and not (
                col.name in raw_types and always_casts(raw_types[col.name], col.kind)
            ):
                hit(errors, "unparseable_value", quote_ident(f"_bad:{col.name}"), col.name)
        for col in table.columns:
            ident = f"t.{quote_ident(col.name)}"
            if col.allowed:
                # A cast to an ENUM of the allowed values: one lookup, several times faster
                # than an IN list over tens of millions of rows.
                allowed = ", ".join(sql_string(v) for v in col.allowed)
                hit(
                    errors,
                    "invalid_value",
                    f"{ident} is not null and try_cast({ident} as enum({allowed})) is null",
                    col.name,
                )
            if col.kind == "county_code":
                hit(
                    errors,
                    "invalid_value",
                    f"{ident} is not null and not regexp_full_match({ident}, '[0-9]{{6}}')",
                    col.name,
                )
            if col.kind == "share":
                hit(errors, "invalid_value", f"{ident} < 0 or {ident} > 1", col.name)
            if col.kind == "amount" or col.name in ("insured_count", "eligible_count"):
                hit(errors, "negative_amount", f"{ident} < 0", col.name)
        if table.key:
            # _duplicates_<table> (made by _check_rows) holds the keys seen more than once.
            same = " and ".join(f"d.{quote_ident(k)} = t.{quote_ident(k)}" for k in table.key)
            hit(
                errors,
                "duplicate_key",
                f"exists (select 1 from _duplicates_{table.name} d where {same})",
                ", ".join(table.key),
            )
        extra = TABLE_RULES.get(table.name)
        if extra:
            extra(self, hit, errors, warnings)
        return errors, warnings

    def _typed_view(self, source: TableSource) -> None:
        """``typed_<table>``: every contract column cast, with raw-null and bad-cast flags
        (:func:`typed_items`), and the file and row number."""
        table = source.table
        items = typed_items(
            table.columns, set(source.columns), self.raw_types.get(table.name, {})
        )
        self.con.execute(
            f"create or replace temp view typed_{table.name} as\n"
            f"select {', '.join(items)},\n"
            "  filename as _file, file_row_number as _row, _file_index\n"
            f"from raw_{table.name}"
        )

    def _check_table(self, source: TableSource) -> None:
        """A table small enough to keep row by row: accepted rows stored, broken rows listed
        with their rules. Only the broken rows pay for building the list of rules."""
        self._check_rows(source)
        self._split_checked(source)

    def _check_rows(self, source: TableSource, later: frozenset[str] = frozenset()) -> None:
        """The table stored under its own name with every row and its verdict on each rule
        except those named in ``later`` (:meth:`_decide_later` adds them; they must be the last
        errors of the table, so that the list of a row's rules comes out in the same order)."""
        table = source.table
        self._typed_view(source)
        if table.key:
            keys = ", ".join(quote_ident(k) for k in table.key)
            not_null = " and ".join(f"{quote_ident(k)} is not null" for k in table.key)
            self.con.execute(
                f"create or replace temp table _duplicates_{table.name} as select {keys}"
                f" from typed_{table.name} where {not_null} group by all having count(*) > 1"
            )
        errors, warnings = self._rule_checks(table, set(source.columns))
        now = [c for c in errors if c.rule not in later]
        if errors[: len(now)] != now:
            raise ValueError(f"rules decided later must be the last errors of {table.name}")
        # One scan decides every row, written once: the stored table is made with every row
        # and each row's verdict, then the quarantine and the warnings are split from it and the
        # broken rows and the verdict's columns taken out (a copy through a temporary table cost
        # a third of the write). Each rule is decided once, as a flag column (a rule written
        # twice would be planned twice: its subquery, say, joined twice); only the broken and
        # warned rows pay for the list of their rules (a CASE evaluates its branch for the rows
        # that take it). A rule that compares a row with others (a window, as the insurers'
        # shares summing to 1) is a flag over every row like any other.
        columns = ", ".join(f"t.{quote_ident(c.name)}" for c in table.columns)
        error_flags = [RuleCheck(c.rule, quote_ident(f"_error:{i}"), c.column)
                       for i, c in enumerate(now)]
        warning_flags = [RuleCheck(c.rule, quote_ident(f"_warning:{i}"), c.column)
                         for i, c in enumerate(warnings)]
        flags = [f"{c.broken()} as {f.condition}"
                 for c, f in (*zip(now, error_flags, strict=True),
                              *zip(warnings, warning_flags, strict=True))]
        self.con.execute(
            f"create or replace table {table.name} as\n"
            f"select {columns}, t._file_index, t._row, t._broken, t._warned,\n"
            f"  case when t._broken then {hit_list(error_flags)} end as _errors,\n"
            f"  case when t._warned then {hit_list(warning_flags)} end as _warnings\n"
            f"from (select t.*, {any_broken(error_flags)} as _broken,"
            f" {any_broken(warning_flags)} as _warned\n"
            f"  from (select t.*{''.join(', ' + f for f in flags)} from typed_{table.name} t) t\n"
            f") t"
        )

    def _decide_later(self, source: TableSource, later: frozenset[str]) -> None:
        """The rules :meth:`_check_rows` left, decided on the stored rows. They read only the
        typed values, which are stored: a claim's enrollment, known once enrollment is built."""
        table = source.table
        errors, _ = self._rule_checks(table, set(source.columns))
        for check in (c for c in errors if c.rule in later):
            self.con.execute(
                f"update {table.name} as t set _broken = true,"
                f" _errors = list_append(coalesce(t._errors, []), {check.hit()})"
                f" where {check.broken()}"
            )

    def _split_checked(self, source: TableSource) -> None:
        """The quarantine and the warnings split from a table :meth:`_check_rows` stored, its
        counts recorded, and the broken rows and the verdict's columns taken out."""
        table = source.table
        name = table.name
        columns = ", ".join(f"t.{quote_ident(c.name)}" for c in table.columns)
        # The file's name from its number: a name a row would have cost a string a row.
        files = {"files": list(source.parquet_list)}
        self.con.execute(
            f"create or replace table quarantine_{name} as\n"
            f"select {columns}, $files[t._file_index::bigint + 1] as _file, t._row,"
            f" {RULES_OF_ERRORS} as _rules, t._errors\n"
            f"from {name} t where t._broken order by _file, t._row",
            files,
        )
        self.con.execute(
            f"create or replace table warned_{name} as\n"
            f"select {columns}, $files[t._file_index::bigint + 1] as _file, t._row, t._warnings\n"
            f"from {name} t where t._warned order by _file, t._row",
            files,
        )
        self.con.execute(
            f"insert into _counts select {sql_string(name)},"
            f" (select count(*) from {name}),"
            f" (select count(*) from quarantine_{name}),"
            f" (select count(*) from warned_{name})"
        )
        self.con.execute(f"delete from {name} where _broken")
        for verdict in _VERDICT_COLUMNS:
            self.con.execute(f"alter table {name} drop column {verdict}")

    # -- table-specific rules (contract §2) ---------------------------------------------------
    def _enrollment_rules(
        self, hit: Any, errors: list[RuleCheck], warnings: list[RuleCheck]
    ) -> None:
        condition = (
            "t.county_code is not null and t.policy_year is not null and not exists ("
            "select 1 from basic_insured b where b.policy_year = t.policy_year "
            "and b.county_code = t.county_code)"
        )
        if self.insured_elsewhere is not None:
            # A rulebook that lets members insured elsewhere enrol (三明 三（二）: 新市民, 港澳台)
            # accepts a county-level code (GB/T 2260) outside its jurisdiction; a code of its own
            # counties missing from basic_insured stays an error.
            codes = ", ".join(sql_string(c) for c in outside_counties(self.insured_elsewhere))
            condition += f" and t.county_code not in ({codes})"
        hit(errors, "unknown_county", condition, "county_code")

    def _claims_rules(
        self, hit: Any, errors: list[RuleCheck], warnings: list[RuleCheck]
    ) -> None:
        hit(errors, "service_outside_year", "year(t.service_date) <> t.policy_year", "service_date")
        hit(errors, "report_before_service", "t.report_date < t.service_date", "report_date")
        hit(errors, "settle_before_report", "t.settle_date < t.report_date", "settle_date")
        hit(
            errors,
            "paid_without_settle_date",
            "t.status = 'paid' and t.settle_date is null",
            "settle_date",
        )
        hit(
            errors,
            "unpaid_with_amount",
            "t.status in ('denied', 'pending') and t.paid_amount > 0",
            "paid_amount",
        )
        # Last: Validator.run decides it after the others (_AFTER_ENROLLMENT).
        # hmb.ingest.enrollment_scan decides every claim key of the years it has enrollment for and
        # lists those without an accepted enrollment: a claim of another year has none either.
        hit(
            errors,
            "claim_without_enrollment",
            "t.member_id is not null and t.policy_year is not null and (case"
            " when not exists (select 1 from _claim_years y where y.policy_year = t.policy_year)"
            " then true else exists (select 1 from _claimants_without_enrollment e"
            " where e.policy_year = t.policy_year and e.member_id = t.member_id) end)",
            "member_id",
        )
        hit(warnings, "paid_exceeds_eligible", "t.paid_amount > t.eligible_amount", "paid_amount")
        hit(
            warnings, "eligible_exceeds_cost", "t.eligible_amount > t.total_cost", "eligible_amount"
        )
        hit(
            warnings,
            "other_layers_exceed_cost",
            "t.basic_paid + t.critical_paid + t.assistance_paid > t.total_cost",
            "total_cost",
        )
        if self.liability_codes is not None:
            codes = ", ".join(sql_string(c) for c in sorted(self.liability_codes)) or "''"
            hit(
                warnings,
                "unknown_liability",
                f"t.liability is not null and t.liability not in ({codes})",
                "liability",
            )

    def _insurers_rules(
        self, hit: Any, errors: list[RuleCheck], warnings: list[RuleCheck]
    ) -> None:
        hit(
            warnings,
            "shares_not_one",
            "t.policy_year is not null and abs(sum(t.share) over (partition by t.policy_year) - 1)"
            " > 1e-6",
            "share",
        )

    def _expenses_rules(
        self, hit: Any, errors: list[RuleCheck], warnings: list[RuleCheck]
    ) -> None:
        hit(
            warnings,
            "expense_insurer_not_in_group",
            "t.insurer_id is not null and not exists (select 1 from insurers i "
            "where i.policy_year = t.policy_year and i.insurer_id = t.insurer_id)",
            "insurer_id",
        )

    # -- the whole folder -------------------------------------------------------------------


TABLE_RULES = {
    "enrollment": TableChecks._enrollment_rules,
    "claims": TableChecks._claims_rules,
    "insurers": TableChecks._insurers_rules,
    "expenses": TableChecks._expenses_rules,
}


@contextlib.contextmanager
def unreadable_as_input_error(found: TableSource) -> Iterator[None]:
    """The footers looked fine but the rows could not be read (a truncated page): say which
    table and files. Work on one table that reads another (the enrollment scan reads the claims'
    keys) names the other inside its own ``with``: the innermost table is the one named."""
    table = found.table
    try:
        yield
    except duckdb.Error as exc:
        raise InputError(
            [
                Problem(
                    "unreadable_file",
                    f"读取数据表 {table.name} 时出错：{exc}。 Reading table"
                    f" '{table.name}' ({', '.join(found.parquet_list[:3])}) failed:"
                    f" {exc}. Re-export the table; if it is hive-partitioned, the"
                    " partition folder names must not repeat a column of the files.",
                    table=table.name,
                    file=found.parquet_list[0],
                )
            ]
        ) from exc


def _unreadable(source: TableSource, exc: Exception) -> Problem:
    name = source.table.name
    return Problem(
        "unreadable_file",
        f"无法读取数据表 {name}：{exc}。 Cannot read table '{name}' from"
        f" {', '.join(source.parquet_list)}: {exc}. Check that every file of the table"
        " is a complete parquet export with the same column types.",
        table=name,
        file=source.parquet_list[0],
    )


# The columns of the raw views that are not the export's.
_VIEW_COLUMNS = frozenset({"filename", "file_row_number", "_file_index"})
# The contract's identifiers: read for an ID number whatever their type.
_ID_COLUMNS = ("member_id", "claim_id")


def _id_columns(
    source: TableSource, raw_types: dict[str, str], contract: bool = True
) -> list[tuple[str, str]]:
    """The columns of a table to scan for resident ID numbers, each with its SQL test: every
    column the contract does not name, of a type that can hold one (text, or wide enough
    numbers); with ``contract=True`` also the contract's text columns and its identifiers
    (``member_id``, ``claim_id``) whatever their type. The contract's number columns are not
    read for it (a province's amounts would cost a scan each): an ID number there is no amount
    or year, its row is quarantined, and the quarantine is refused before it is written out
    (hmb.ingest.dataset.write_quarantine)."""
    known = {c.name for c in source.table.columns}
    names = [
        name
        for name, kind in raw_types.items()
        if name not in _VIEW_COLUMNS
        and (
            name not in known
            or (contract and (name in _ID_COLUMNS or kind == "VARCHAR"))
        )
    ]
    return id_tests(raw_types, names)


def id_tests(raw_types: dict[str, str], names: list[str]) -> list[tuple[str, str]]:
    """``(name, SQL test)`` for each column of ``names`` whose type can hold an ID number."""
    tests = []
    for name in names:
        test = raw_id_sql(quote_ident(name), raw_types[name])
        if test is not None:
            tests.append((name, test))
    return tests


def raw_id_problems(
    con: duckdb.DuckDBPyConnection, relation: str, table: Table, tests: list[tuple[str, str]]
) -> list[Problem]:
    """One scan of ``relation`` (with a ``filename`` column): a problem for each column of
    ``tests`` (:func:`id_tests`) that holds a resident ID number."""
    if not tests:
        return []
    checks = [
        f"count(*) filter (where {test}), any_value({quote_ident(name)}) filter (where {test}),"
        f" any_value(filename) filter (where {test})"
        for name, test in tests
    ]
    row = con.execute(f"select {', '.join(checks)} from {relation}").fetchall()[0]
    return [
        _raw_id_problem(table, name, int(row[3 * i]), row[3 * i + 1], str(row[3 * i + 2]))
        for i, (name, _) in enumerate(tests)
        if row[3 * i]
    ]


def _raw_id_problem(table: Table, column: str, count: int, example: Any, file: str) -> Problem:
    masked = mask_id_number(example)
    return Problem(
        "raw_id_number",
        f"数据表 {table.name} 的 {column} 列中有 {count} 行是明文身份证号（如 {masked}，"
        "含带连字符、空格、全角数字、15 位旧号或整数形式），明文身份证号不得进入本系统。"
        "请先用 `hmb pseudonymize` 以密钥将 member_id、claim_id 中的身份证号转换为假名标识"
        "（含身份证号的其他列会被删除）后再导入。"
        f" Column '{column}' of table '{table.name}' ({file}) holds {count} raw resident ID"
        f" numbers (e.g. {masked}; hyphens, spaces, full-width digits, the 15-digit old format"
        " and integers count too). Raw identity numbers never enter the product: pseudonymise"
        " the export first with `hmb pseudonymize IN OUT --key-file KEY` (it replaces them in"
        " member_id and claim_id, and drops any other column that holds them) and load OUT.",
        table=table.name,
        file=file,
        column=column,
    )
