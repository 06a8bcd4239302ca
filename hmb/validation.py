"""Validation of a data folder against the contract (docs/contract.md §2), inside DuckDB.

Every input table goes through the same three steps, all in SQL over the parquet files:

1. **Column checks** (one aggregate scan): a column whose every value fails its cast, or a
   ``member_id`` that looks like a raw resident ID number, is fatal.
2. **Row rules**: each row gets the list of rules it breaks. Errors quarantine the row (it is kept
   in ``quarantine_<table>`` with the rules, its file and its row number, and excluded from
   metrics); warnings are only counted.
3. **Accepted table**: the typed, accepted rows under the table's own name, which the metric
   queries read.

Rules are data (:data:`ROW_RULES`), so the documentation and the report are generated from the
same list that the SQL is built from.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb

from hmb.loading import InputError, Problem, TableSource
from hmb.schema import SQL_TYPE, TABLES, TABLES_BY_NAME, Column, Table

Severity = Literal["error", "warning"]

RAW_ID_PATTERN = r"^[0-9]{17}[0-9Xx]$"

# What trimming removes at either end of a text value (contract §2: a value is read trimmed, and
# blank is null): the Unicode space separators (category Zs: the space, the no-break space, the
# full-width space U+3000 of Chinese input methods, ...), which DuckDB's trim() removes, and the
# tab, line feed and carriage return that spreadsheets and CSV line ends leave behind.
SPACES = (
    " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000\t\n\r"
)


@dataclass(frozen=True)
class RuleCheck:
    """One rule as SQL: the predicate over a typed row ``t`` that is true when it is broken."""

    rule: str
    condition: str
    column: str | None

    def hit(self) -> str:
        """The struct {rule, column} when the row breaks the rule, else null."""
        col = sql_string(self.column) if self.column else "null"
        return (
            f"case when {self.condition} then"
            f" {{'rule': {sql_string(self.rule)}, 'column': {col}}} end"
        )

    def broken(self) -> str:
        """A boolean that is never null: the row breaks the rule."""
        return f"coalesce({self.condition}, false)"


@dataclass(frozen=True)
class RowRule:
    """One row-level rule: its id, what it means, and the tables it applies to."""

    id: str
    severity: Severity
    zh: str
    en: str


ROW_RULES: tuple[RowRule, ...] = (
    RowRule("null_required", "error", "必填列为空", "a required column is null or blank"),
    RowRule(
        "unparseable_value",
        "error",
        "值无法转换为规定类型（如日期无法解析）",
        "a value that cannot be cast to the column's type (e.g. a date that does not parse)",
    ),
    RowRule(
        "invalid_value",
        "error",
        "值不在规定的取值范围内（枚举值、6 位区划代码、份额 0–1）",
        "a value outside its enumeration, a county code that is not 6 digits, a share outside 0–1",
    ),
    RowRule("negative_amount", "error", "金额或人数为负", "a negative amount or count"),
    RowRule(
        "duplicate_key", "error", "主键重复（所有重复行都隔离）", "every copy of a duplicated key"
    ),
    RowRule(
        "unknown_county",
        "error",
        "参保地代码不在当年基本医保参保人数表中",
        "enrollment county_code absent from basic_insured for that year",
    ),
    RowRule(
        "claim_without_enrollment",
        "error",
        "赔案对应的参保人当年没有有效投保记录",
        "claim whose member has no accepted enrollment that year",
    ),
    RowRule(
        "service_outside_year",
        "error",
        "就诊日期不在保险年度内",
        "service_date outside the policy year",
    ),
    RowRule(
        "report_before_service", "error", "报案日期早于就诊日期", "report_date before service_date"
    ),
    RowRule(
        "settle_before_report", "error", "结案日期早于报案日期", "settle_date before report_date"
    ),
    RowRule(
        "paid_without_settle_date",
        "error",
        "已赔付但没有结案日期",
        "status paid without a settle_date",
    ),
    RowRule(
        "unpaid_with_amount",
        "error",
        "未赔付状态但赔付金额大于 0",
        "a non-paid claim with paid_amount > 0",
    ),
    RowRule(
        "paid_exceeds_eligible",
        "warning",
        "赔付金额超过责任范围内费用",
        "paid_amount > eligible_amount",
    ),
    RowRule(
        "eligible_exceeds_cost",
        "warning",
        "责任范围内费用超过医疗总费用",
        "eligible_amount > total_cost",
    ),
    RowRule(
        "other_layers_exceed_cost",
        "warning",
        "基本医保、大病保险、医疗救助支付合计超过总费用",
        "basic + critical + assistance payments exceed total_cost",
    ),
    RowRule(
        "unknown_liability",
        "warning",
        "保险责任代码不在规则配置的责任清单中",
        "a liability code the rulebook does not define",
    ),
    RowRule(
        "shares_not_one",
        "warning",
        "当年共保份额合计不等于 1",
        "insurer shares of a year do not sum to 1",
    ),
    RowRule(
        "expense_insurer_not_in_group",
        "warning",
        "费用所属保险机构不在当年共保体中",
        "expense row of an insurer that is not in that year's co-insurance group",
    ),
)
RULES_BY_ID = {rule.id: rule for rule in ROW_RULES}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(value: str) -> str:
    """A SQL string literal for a constant of the schema (never for user data)."""
    return "'" + value.replace("'", "''") + "'"


def _typed_expr(
    col: Column,
    present: bool,
    raw_type: str | None = None,
    prefix: str = "",
    default: bool = True,
) -> str:
    """The accepted value of a column: cast to its contract type, blanks treated as null.

    ``raw_type`` is the column's type in the files, when known: a column already of the
    contract's type is taken as it is (casting 40 million dates to text and back costs seconds).
    The raw value is read from the column ``prefix`` + name. ``default=False`` leaves a value
    that does not cast null instead of giving it the column's default.
    """
    if not present:
        return f"cast({col.default or 'null'} as {SQL_TYPE[col.kind]})"
    ident = quote_ident(prefix + col.name)
    # Text is trimmed before it is read as anything else.
    text = _trimmed(ident) if raw_type == "VARCHAR" else ident
    if col.kind in ("string", "county_code"):
        as_text = text if raw_type == "VARCHAR" else _trimmed(f"cast({ident} as varchar)")
        expr = f"nullif({as_text}, '')"
    elif raw_type == SQL_TYPE[col.kind]:
        expr = ident
    elif col.kind == "date" and raw_type is not None and raw_type.startswith("TIMESTAMP"):
        expr = f"cast({ident} as date)"
    elif col.kind == "date":
        # DATE columns, ISO strings, and timestamps exported where a date was meant.
        expr = f"coalesce(try_cast({text} as date), cast(try_cast({text} as timestamp) as date))"
    else:
        expr = f"try_cast({text} as {SQL_TYPE[col.kind]})"
    if col.default is not None and default:
        expr = f"coalesce({expr}, {col.default})"
    return expr


def raw_id_sql(expr: str) -> str:
    """True when a value looks like a resident ID number; the cheap length tests go first (a
    value shorter than 18 bytes is not trimmed at all: trimming only shortens)."""
    text = f"cast({expr} as varchar)"
    value = _trimmed(text)
    # A CASE, not AND: DuckDB may evaluate every side of an AND for every row.
    return (
        f"(case when strlen({text}) < 18 then false else strlen({value}) = 18"
        f" and regexp_full_match({value}, {sql_string(RAW_ID_PATTERN)}) end)"
    )


# Parquet types that always cast to a kind's type, so a fatal "nothing casts" check is moot.
_SAFE_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


def _always_casts(raw_type: str, kind: str) -> bool:
    target = SQL_TYPE[kind]  # type: ignore[index]
    if target in ("VARCHAR", raw_type):
        return True
    if target == "INTEGER":
        return raw_type in ("TINYINT", "SMALLINT", "UTINYINT", "USMALLINT")
    decimal = _SAFE_DECIMAL.fullmatch(raw_type.replace(" ", ""))
    if target == "DECIMAL(18,2)" and decimal:
        precision, scale = int(decimal[1]), int(decimal[2])
        return scale <= 2 and precision - scale <= 16
    return False


_INTEGER = range(-(2**31), 2**31)


def _hive_values_cast(source: TableSource, col: Column) -> bool:
    """Whether a column that comes from the folder names (``policy_year=2024/``) casts in every
    file: the names say so without scanning a row."""
    if col.name not in source.hive_keys or col.kind != "integer":
        return False
    values = [
        next((p.split("=", 1)[1] for p in file.parts[:-1] if p.startswith(f"{col.name}=")), "")
        for file in source.files
    ]
    return all(v.strip().lstrip("-").isdigit() and int(v) in _INTEGER for v in values)


def _trimmed(text: str) -> str:
    """``text`` without the :data:`SPACES` at either end, paid for only by the values that may
    have some: trimming every value of a 40-million-row column costs seconds, looking for a
    byte does not. DuckDB's ``trim(x)`` removes exactly the space separators (Zs); given the
    characters, it removes the tab and line breaks too, but about fifty times slower, so that
    form is kept for the values that hold one of those or start with a control byte."""
    # A value that starts with a space or a control character sorts before '!' (one comparison
    # of the first byte); one with a space separator elsewhere holds ' ' or a byte above 127
    # (its length in characters then differs from its length in bytes).
    return (
        f"(case when {text} < '!' or contains({text}, chr(9)) or contains({text}, chr(10))"
        f" or contains({text}, chr(13)) then trim({text}, {sql_string(SPACES)})"
        f" when contains({text}, ' ') or length({text}) <> strlen({text}) then trim({text})"
        f" else {text} end)"
    )


def _blank(text: str) -> str:
    """True when ``text`` (not null) is empty once trimmed. Only a value that starts with a
    space, a control byte or a byte above 127 can be: the others are compared once."""
    return (
        f"(case when {text} < '!' or {text} >= {sql_string(chr(0xA0))}"
        f" then trim({text}, {sql_string(SPACES)}) = '' else false end)"
    )


def _raw_is_null(col: Column, raw_type: str | None = None, prefix: str = "") -> str:
    ident = quote_ident(prefix + col.name)
    if raw_type is not None and raw_type != "VARCHAR":
        return f"({ident} is null)"  # only text can be blank
    # CASEs, not OR and AND: DuckDB may evaluate every side of those for every row, and trimming
    # every value of a column costs far more than comparing its first byte.
    text = ident if raw_type == "VARCHAR" else f"cast({ident} as varchar)"
    return f"(case when {ident} is null then true else {_blank(text)} end)"


def typed_items(
    columns: Iterable[Column],
    present: set[str],
    raw_types: dict[str, str],
    prefix: str = "",
) -> list[str]:
    """The select items that type a relation's raw columns: each column cast to its contract
    type under its own name, and for columns present its ``_null:`` and ``_bad:`` flags (the raw
    value was null or blank; it was there but does not cast). The items are pure functions of the
    raw values, so they type a grouped relation (one row per distinct raw value) as exactly as
    the rows themselves.

    The raw values are read from the columns named ``prefix`` + the column's name.
    """
    items: list[str] = []
    for col in columns:
        raw_type = raw_types.get(col.name)
        is_present = col.name in present
        expr = _typed_expr(col, is_present, raw_type, prefix)
        items.append(f"{expr} as {quote_ident(col.name)}")
        if is_present:
            raw_null = _raw_is_null(col, raw_type, prefix)
            # Whether the value casts, before a default fills the gap: an amount of "abc" is
            # unparseable, not zero.
            cast = _typed_expr(col, is_present, raw_type, prefix, default=False)
            # A type in the files that always casts (the contract's own, text kept as text)
            # cannot be unparseable.
            always = raw_type is not None and _always_casts(raw_type, col.kind)
            bad = "false" if always else f"(not {raw_null} and {cast} is null)"
            items.append(f"{raw_null} as {quote_ident('_null:' + col.name)}")
            items.append(f"{bad} as {quote_ident('_bad:' + col.name)}")
    return items


# The columns a table is made with beside its own while it is checked (Validator._check_rows).
_VERDICT_COLUMNS = ("_file_index", "_row", "_broken", "_warned", "_errors", "_warnings")


class Validator:
    """Builds the checked, accepted and quarantine tables of one data folder in ``con``."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        sources: dict[str, TableSource],
        liability_codes: frozenset[str] | None = None,
        segments: Path | None = None,
        version: str = "",
    ) -> None:
        self.con = con
        self.sources = sources
        self.liability_codes = liability_codes
        self.segments = segments  # where per-year enrollment results are kept (or None)
        self.version = version  # the code version, part of every segment's key
        self.raw_types: dict[str, dict[str, str]] = {}  # per table, from the files' schemas
        self.private_views = False  # raw views temporary, of this connection only (beside())

    # -- step 0: raw views -------------------------------------------------------------------
    def beside(self) -> Validator:
        """This validator on a connection of its own to the same database, whose raw views are
        its own (temporary): work that runs beside this connection's cannot change them."""
        beside = copy.copy(self)
        beside.con = self.con.cursor()
        beside.private_views = True
        return beside

    def _create_raw_view(self, source: TableSource) -> None:
        name = source.table.name
        self.con.execute(
            # file_index numbers the files in the order given: a row is (_file_index, its row).
            f"create or replace {'temp ' if self.private_views else ''}view raw_{name} as"
            " select *, file_index as _file_index"
            " from read_parquet("
            f"$files, hive_partitioning = {str(bool(source.hive_keys)).lower()},"
            " union_by_name = true, filename = true, file_row_number = true)".replace(
                "$files", "[" + ", ".join(sql_string(f) for f in source.parquet_list) + "]"
            )
        )

    # -- step 1: column checks ---------------------------------------------------------------
    def _column_checks(self, source: TableSource, raw_ids: bool = True) -> list[Problem]:
        """Fatal column problems. A column whose parquet type always casts to the contract's
        type is not scanned; ``raw_ids=False`` leaves the raw-ID scan to the caller."""
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
            and not _always_casts(str(raw_types.get(c.name)), c.kind)
            and not _hive_values_cast(source, c)
        ]
        checks: list[str] = []
        for col in present:
            ident = quote_ident(col.name)
            typed = _typed_expr(col, True, default=False)
            checks.append(f"count(*) filter (where not {_raw_is_null(col)})")
            checks.append(f"count(*) filter (where not {_raw_is_null(col)} and {typed} is null)")
            checks.append(
                f"any_value(cast({ident} as varchar)) filter "
                f"(where not {_raw_is_null(col)} and {typed} is null)"
            )
        has_member = raw_ids and "member_id" in source.columns
        if has_member:
            looks_raw = raw_id_sql("member_id")
            checks.append(f"count(*) filter (where {looks_raw})")
            checks.append(
                f"any_value({_trimmed('cast(member_id as varchar)')}) filter (where {looks_raw})"
            )
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
        if has_member and row[3 * len(present)]:
            count, example, file = row[3 * len(present) :]
            problems.append(_raw_id_problem(table, int(count), str(example), str(file)))
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
                col.name in raw_types and _always_casts(raw_types[col.name], col.kind)
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
            f"  case when t._broken then {_hit_list(error_flags)} end as _errors,\n"
            f"  case when t._warned then {_hit_list(warning_flags)} end as _warnings\n"
            f"from (select t.*, {_any_broken(error_flags)} as _broken,"
            f" {_any_broken(warning_flags)} as _warned\n"
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
            f" {_RULES_OF_ERRORS} as _rules, t._errors\n"
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
        hit(
            errors,
            "unknown_county",
            "t.county_code is not null and t.policy_year is not null and not exists ("
            "select 1 from basic_insured b where b.policy_year = t.policy_year "
            "and b.county_code = t.county_code)",
            "county_code",
        )

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
        # hmb.enrollment_scan decides every claim key of the years it has enrollment for and
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
    def run(self) -> None:
        """Create raw views, run column checks (raising InputError), then build every table."""
        problems: list[Problem] = []
        self.con.execute(
            "create or replace table _counts (table_name varchar, rows_read bigint,"
            " rows_quarantined bigint, rows_with_warnings bigint)"
        )
        for source in self.sources.values():
            self._create_raw_view(source)
            # Enrollment's raw-ID check rides on its member pass (hmb.enrollment_scan).
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
                with _unreadable_as_input_error(table, found):
                    self._build_table(found, claims_rows)

    def _build_table(self, found: TableSource, claims_rows: Future[None] | None) -> None:
        """One table checked and stored: enrollment by hmb.enrollment_scan, the claims checked
        beside it finished here (``claims_rows``), every other table by :meth:`_check_table`."""
        from hmb import enrollment_scan  # noqa: PLC0415 (it builds on this module)

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
        from hmb import enrollment_scan  # noqa: PLC0415 (it builds on this module)

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


@contextlib.contextmanager
def _unreadable_as_input_error(table: Table, found: TableSource) -> Iterator[None]:
    """The footers looked fine but the rows could not be read (a truncated page, a partition
    folder that contradicts a column): say which table and files."""
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

TABLE_RULES = {
    "enrollment": Validator._enrollment_rules,
    "claims": Validator._claims_rules,
    "insurers": Validator._insurers_rules,
    "expenses": Validator._expenses_rules,
}


_RULES_OF_ERRORS = (
    "array_to_string(list_sort(list_distinct(list_transform(_errors, lambda e: e.rule))), ',')"
)


def _any_broken(checks: list[RuleCheck]) -> str:
    """True when the row breaks at least one of ``checks``."""
    return " or ".join(c.broken() for c in checks) if checks else "false"


def _hit_list(checks: list[RuleCheck]) -> str:
    """A SQL list of the {rule, column} structs a row breaks (empty when it breaks none)."""
    if not checks:
        return '[]::struct(rule varchar, "column" varchar)[]'
    return (
        "list_filter([" + ",\n    ".join(c.hit() for c in checks) + "], lambda x: x is not null)"
    )


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


def _raw_id_problem(table: Table, count: int, example: str, file: str) -> Problem:
    masked = example[:6] + "*" * 8 + example[-4:]
    return Problem(
        "raw_id_number",
        f"数据表 {table.name} 的 member_id 列中有 {count} 行是明文身份证号（如 {masked}），"
        "明文身份证号不得进入本系统。请先用 `hmb pseudonymize` 以密钥将其转换为假名标识后再导入。"
        f" Column 'member_id' of table '{table.name}' ({file}) holds {count} raw resident ID"
        f" numbers (e.g. {masked}). Raw identity numbers never enter the product: pseudonymise the"
        " export first with `hmb pseudonymize IN OUT --key-file KEY` and load OUT.",
        table=table.name,
        file=file,
        column="member_id",
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


def mask_member_id(value: str) -> str:
    """Show enough of a pseudonymous ID to find the row, not enough to copy it around."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]
