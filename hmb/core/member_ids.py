"""Member IDs: what a raw resident ID number looks like, and how a pseudonymous ID is masked.

Raw identity numbers never enter the product (contract §2). A resident ID number (GB 11643) is
18 characters, 17 digits then a check digit or X, or 15 digits in the old format; an export may
write it with hyphens or spaces between the digits, in full-width digits (the Chinese input
methods' ０１２…), with zero-width characters pasted in, or as an integer. :func:`id_number`
reads every such form to the one 18-character number of the person (a 15-digit number gains
the century 19 and its check digit, as GB 11643 converts it); :func:`looks_like_raw_id` and
:func:`raw_id_sql` tell whether a value is one, the same rule written once for Python and once
for SQL (a test holds them equal over generated values). A wrong check digit is still a
person's number: the rule is the shape, not the checksum.

Pseudonymous IDs are shown masked, in messages (:func:`mask_member_id`) and in the query layer
(:func:`masked_member_id_sql`), the same rule written once for Python and once for SQL.
"""

from __future__ import annotations

import math
from decimal import Decimal

# What may sit between the digits of an ID number and is read as nothing: the Unicode space
# separators (the space, the no-break space, the full-width space U+3000, ...) and the other
# white space, hyphens and dashes (the full-width hyphen U+FF0D too), and the zero-width space,
# joiners, word joiner and byte-order mark.
ID_SEPARATORS = (
    " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000\t\n\r\v\f\u0085\u2028\u2029"
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
    "\u200b\u200c\u200d\u2060\ufeff"
)
# The full-width forms U+FF01–U+FF5E read as the ASCII characters they stand for (what Unicode
# NFKC normalisation does to them), separators removed.
_NORMALISE = {cp: cp - 0xFF01 + 0x21 for cp in range(0xFF01, 0xFF5F)} | {
    ord(c): None for c in ID_SEPARATORS
}

_SEP = "[" + ID_SEPARATORS.replace("-", "\\-") + "]*"
_DIGIT = "[0-9\uff10-\uff19]"
_CHECK = "[0-9\uff10-\uff19Xx\uff38\uff58]"
# The shape, as one regular expression over the value as written (RE2 and Python's re read it
# alike): 17 digits then a digit or X, or 15 digits, any separators between and around them.
RAW_ID_PATTERN = (
    f"{_SEP}(?:{_DIGIT}{_SEP}){{14}}(?:{_DIGIT}{_SEP}|(?:{_DIGIT}{_SEP}){{3}}{_CHECK}{_SEP})"
)
_SHORTEST = 15  # no value shorter than this (in characters, or bytes) can be one

_CHECKS = tuple("0123456789X")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def normalise_id_text(value: str) -> str:
    """``value`` with full-width characters read as ASCII and separators removed, upper case."""
    return value.translate(_NORMALISE).upper()


def id_number(value: object) -> str | None:
    """The 18-character resident ID number that ``value`` is written as, or None when it is
    not one. Text in any of the forms above, or an integer (or an integral number) of 15 or
    18 digits; a 15-digit number becomes its 18-digit form, so each person has one."""
    digits = _digits(value)
    if digits is None or not (digits[:-1].isascii() and digits[:-1].isdigit()):
        return None
    if len(digits) == 15 and digits.isdigit():
        first = digits[:6] + "19" + digits[6:]
        return first + _check_digit(first)
    return digits if len(digits) == 18 and digits[-1] in _CHECKS else None


def _digits(value: object) -> str | None:
    """The characters of a value once normalised, or None for a type that cannot hold one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float | Decimal):
        if not math.isfinite(value) or value != int(value):
            return None
        value = int(value)
    if isinstance(value, int):
        return str(abs(value))
    if isinstance(value, str) and len(value) >= _SHORTEST:
        return normalise_id_text(value)
    return None


def looks_like_raw_id(value: object) -> bool:
    """Whether ``value`` is a resident ID number in any form (:func:`id_number`)."""
    return id_number(value) is not None


def mask_id_number(value: object) -> str:
    """A resident ID number as a message may show it: the first six characters (the area) and
    the last four, the birth date and the rest hidden; as written, less its separators."""
    text = normalise_id_text(value) if isinstance(value, str) else str(_digits(value) or "")
    return text[:6] + "*" * max(len(text) - 10, 4) + text[-4:]


def _check_digit(first17: str) -> str:
    """GB 11643's check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


# The SQL types a resident ID number can be written in: text, and numbers wide enough.
_WIDE_INTEGERS = ("BIGINT", "HUGEINT", "UBIGINT", "UHUGEINT")
_FLOATS = ("DOUBLE", "FLOAT", "REAL")


def raw_id_sql(expr: str, sql_type: str = "VARCHAR") -> str | None:
    """:func:`looks_like_raw_id` in SQL, for a value of ``sql_type`` (a DuckDB type), or None
    when no value of that type can be one (a date, a boolean, a 32-bit integer).

    Text is tested on its length first, in bytes (never fewer than its characters): a value
    of fewer than 15 is not one, and most pseudonymous IDs stop there; then on its first byte
    (one comparison): a value that starts with an ASCII character other than a digit or a
    separator (a letter: ``P3f9c…``) is not one either. Only the rest meet the pattern."""
    sql_type = sql_type.upper()
    if sql_type == "VARCHAR":
        # A CASE, not AND: DuckDB may evaluate every side of an AND for every row. Text compares
        # byte by byte: from ':' up to DEL (chr(127)) is every ASCII character after the digits.
        pattern = "'" + RAW_ID_PATTERN.replace("'", "''") + "'"
        return (
            f"(case when strlen({expr}) < {_SHORTEST} then false"
            f" when {expr} >= ':' and {expr} < chr(127) then false"
            f" else regexp_full_match({expr}, {pattern}) end)"
        )
    ranges = " or ".join(
        f"{expr} between {sign}{low} and {sign}{high}" if sign == "" else
        f"{expr} between {sign}{high} and {sign}{low}"
        for low, high in ((10**14, 10**15 - 1), (10**17, 10**18 - 1))
        for sign in ("", "-")
    )
    if sql_type in _WIDE_INTEGERS:
        return f"({ranges})"
    if sql_type in _FLOATS:
        return (
            f"(isfinite({expr}) and {expr} = trunc({expr}) and (abs({expr}) >= 1e14"
            f" and abs({expr}) < 1e15 or abs({expr}) >= 1e17 and abs({expr}) < 1e18))"
        )
    if sql_type.startswith("DECIMAL("):
        precision = int(sql_type[len("DECIMAL("):].split(",")[0])
        if precision - int(sql_type.split(",")[1].rstrip(")")) < _SHORTEST:
            return None
        return f"({expr} = trunc({expr}) and ({ranges}))"
    return None


def mask_member_id(value: str) -> str:
    """Show enough of a pseudonymous ID to find the row, not enough to copy it around."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def masked_member_id_sql(expr: str) -> str:
    """:func:`mask_member_id` in SQL: keep two characters at each end of ``expr``."""
    value = f"cast({expr} as varchar)"
    return (f"case when {value} is null then null"
            f" when length({value}) <= 4 then repeat('*', length({value}))"
            f" else left({value}, 2) || repeat('*', length({value}) - 4) || right({value}, 2)"
            f" end")
