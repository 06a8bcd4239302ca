"""Writing SQL text safely: identifiers quoted, constants of the schema as literals.

Values that come from users or data are never formatted into SQL: they are bound as parameters.
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(value: str) -> str:
    """A SQL string literal for a constant of the schema (never for user data)."""
    return "'" + value.replace("'", "''") + "'"
