"""The roles an account may hold (docs/access.md), with their names in both languages.

Kept apart from hmb.access.auth so the command line can offer them without loading the accounts and
their password hashing.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["admin", "city_supervisor", "county_supervisor", "financial_regulator",
               "leadership"]
ROLES: tuple[Role, ...] = get_args(Role)
ROLE_NAMES: dict[Role, tuple[str, str]] = {
    "admin": ("系统管理员", "Administrator"),
    "city_supervisor": ("市级医保监管", "City supervisor"),
    "county_supervisor": ("县级医保监管", "County supervisor"),
    "financial_regulator": ("金融监管", "Financial regulator"),
    "leadership": ("工作专班领导", "Leadership"),
}
