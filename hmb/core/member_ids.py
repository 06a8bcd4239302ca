"""Member IDs: what a raw resident ID number looks like, and how a pseudonymous ID is masked.

Raw identity numbers never enter the product (contract §2); pseudonymous IDs are shown masked,
in messages (:func:`mask_member_id`) and in the query layer (:func:`masked_member_id_sql`), the
same rule written once for Python and once for SQL (a test holds them equal).
"""

from __future__ import annotations

# An 18-character resident ID number (GB 11643): 17 digits, then a check digit or X.
RAW_ID_PATTERN = r"^[0-9]{17}[0-9Xx]$"


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
