"""The SQL that reads a raw exported value as the contract's type: trimmed, blank as null,
cast, or flagged as unparseable.

Shared by the table checks (hmb.ingest.table_checks) and the enrollment scan
(hmb.ingest.enrollment_scan), which apply the same definitions at different grains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hmb.core.schema import SQL_TYPE, Column
from hmb.core.sql import quote_ident, sql_string
from hmb.ingest.loading import TableSource

# What trimming removes at either end of a text value (contract §2: a value is read trimmed, and
# blank is null): the Unicode space separators (category Zs: the space, the no-break space, the
# full-width space U+3000 of Chinese input methods, ...), which DuckDB's trim() removes, and the
# tab, line feed and carriage return that spreadsheets and CSV line ends leave behind.
SPACES = (
    " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000\t\n\r"
)


def typed_expr(
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
    text = trimmed(ident) if raw_type == "VARCHAR" else ident
    if col.kind in ("string", "county_code"):
        as_text = text if raw_type == "VARCHAR" else trimmed(f"cast({ident} as varchar)")
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


# Parquet types that always cast to a kind's type, so a fatal "nothing casts" check is moot.
_SAFE_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


def always_casts(raw_type: str, kind: str) -> bool:
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


def hive_values_cast(source: TableSource, col: Column) -> bool:
    """Whether a column that comes from the folder names (``policy_year=2024/``) casts in every
    file: the names say so without scanning a row."""
    if col.name not in source.hive_keys or col.kind != "integer":
        return False
    values = [
        next((p.split("=", 1)[1] for p in file.parts[:-1] if p.startswith(f"{col.name}=")), "")
        for file in source.files
    ]
    return all(v.strip().lstrip("-").isdigit() and int(v) in _INTEGER for v in values)


def trimmed(text: str) -> str:
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


def blank(text: str) -> str:
    """True when ``text`` (not null) is empty once trimmed. Only a value that starts with a
    space, a control byte or a byte above 127 can be: the others are compared once."""
    return (
        f"(case when {text} < '!' or {text} >= {sql_string(chr(0xA0))}"
        f" then trim({text}, {sql_string(SPACES)}) = '' else false end)"
    )


def raw_is_null(col: Column, raw_type: str | None = None, prefix: str = "") -> str:
    ident = quote_ident(prefix + col.name)
    if raw_type is not None and raw_type != "VARCHAR":
        return f"({ident} is null)"  # only text can be blank
    # CASEs, not OR and AND: DuckDB may evaluate every side of those for every row, and trimming
    # every value of a column costs far more than comparing its first byte.
    text = ident if raw_type == "VARCHAR" else f"cast({ident} as varchar)"
    return f"(case when {ident} is null then true else {blank(text)} end)"


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
        expr = typed_expr(col, is_present, raw_type, prefix)
        items.append(f"{expr} as {quote_ident(col.name)}")
        if is_present:
            raw_null = raw_is_null(col, raw_type, prefix)
            # Whether the value casts, before a default fills the gap: an amount of "abc" is
            # unparseable, not zero.
            cast = typed_expr(col, is_present, raw_type, prefix, default=False)
            # A type in the files that always casts (the contract's own, text kept as text)
            # cannot be unparseable.
            always = raw_type is not None and always_casts(raw_type, col.kind)
            bad = "false" if always else f"(not {raw_null} and {cast} is null)"
            items.append(f"{raw_null} as {quote_ident('_null:' + col.name)}")
            items.append(f"{bad} as {quote_ident('_bad:' + col.name)}")
    return items
