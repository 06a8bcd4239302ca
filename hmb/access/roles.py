"""The roles an account may hold (docs/access.md); their names are in hmb.core.labels.

Kept apart from hmb.access.auth so the command line can offer them without loading the accounts and
their password hashing.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["admin", "city_supervisor", "county_supervisor", "financial_regulator",
               "leadership"]
ROLES: tuple[Role, ...] = get_args(Role)
