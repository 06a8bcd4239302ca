"""Figures supervisors publish beside the contract's metrics.

Definitions: docs/metrics.md#indicators-监管公开指标. Renewal rate 续保率, the share of premium
paid from personal accounts 个人账户缴费占比, pre-existing members' share of claims and payouts
既往症人群赔付占比, claimants and payout per claimant 赔付人数与人均赔付, and the one-stop share
by liability 分责任一站式结算占比. DuckDB counts and sums
(queries/renewal_rate.sql and the four others); this module types the rows and divides. Money is
:class:`~decimal.Decimal` until it is shown, as in :mod:`hmb.measure.metrics`; a ratio with a
zero denominator is ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

import queries
from hmb.measure.metrics import ratio, to_fen

Row = Mapping[str, Any]


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(to_fen(value))


@dataclass(frozen=True)
class RenewalRow:
    """续保率: of the members with an active enrolment in Y − 1 (in ``county_code`` that year;
    ``None``: the whole jurisdiction), those with an active enrolment in Y."""

    policy_year: int
    county_code: str | None
    prior_members: int
    renewed: int

    @property
    def rate(self) -> float | None:
        return ratio(self.renewed, self.prior_members)

    def as_json(self) -> dict[str, Any]:
        return {"policy_year": self.policy_year, "county_code": self.county_code,
                "prior_members": self.prior_members, "renewed": self.renewed,
                "renewal_rate": self.rate}


@dataclass(frozen=True)
class PersonalAccountRow:
    """个人账户缴费占比: written premium paid from personal accounts over all written premium."""

    policy_year: int
    county_code: str | None
    personal_account_premium: Decimal
    written_premium: Decimal

    @property
    def share(self) -> float | None:
        return ratio(self.personal_account_premium, self.written_premium)

    def as_json(self) -> dict[str, Any]:
        return {"policy_year": self.policy_year, "county_code": self.county_code,
                "personal_account_premium": _money(self.personal_account_premium),
                "written_premium": _money(self.written_premium),
                "personal_account_share": self.share}


@dataclass(frozen=True)
class PreexistingRow:
    """既往症人群赔付占比: claims paid to members enrolled as pre-existing, in number and amount,
    over all claims paid."""

    policy_year: int
    paid_claims: int
    preexisting_claims: int
    claims_paid: Decimal
    preexisting_paid: Decimal

    @property
    def claims_share(self) -> float | None:
        return ratio(self.preexisting_claims, self.paid_claims)

    @property
    def payout_share(self) -> float | None:
        return ratio(self.preexisting_paid, self.claims_paid)

    def as_json(self) -> dict[str, Any]:
        return {"policy_year": self.policy_year, "paid_claims": self.paid_claims,
                "preexisting_claims": self.preexisting_claims,
                "claims_paid": _money(self.claims_paid),
                "preexisting_paid": _money(self.preexisting_paid),
                "claims_share": self.claims_share, "payout_share": self.payout_share}


@dataclass(frozen=True)
class ClaimantRow:
    """赔付人数与人均赔付: members with a paid claim, and the claims paid per such member."""

    policy_year: int
    claimants: int
    paid_claims: int
    claims_paid: Decimal

    @property
    def payout_per_claimant(self) -> Decimal | None:
        """Claims paid / claimants, unrounded (to the fen in JSON); None without a claimant."""
        if self.claimants == 0:
            return None
        return self.claims_paid / self.claimants

    def as_json(self) -> dict[str, Any]:
        return {"policy_year": self.policy_year, "claimants": self.claimants,
                "paid_claims": self.paid_claims, "claims_paid": _money(self.claims_paid),
                "payout_per_claimant": _money(self.payout_per_claimant)}


@dataclass(frozen=True)
class OneStopRow:
    """分责任一站式结算占比: paid claims settled one-stop over paid claims, in number and amount,
    for one liability (``None``: every liability of the year)."""

    policy_year: int
    liability: str | None
    paid_claims: int
    one_stop_claims: int
    claims_paid: Decimal
    one_stop_paid: Decimal

    @property
    def count_share(self) -> float | None:
        return ratio(self.one_stop_claims, self.paid_claims)

    @property
    def amount_share(self) -> float | None:
        return ratio(self.one_stop_paid, self.claims_paid)

    def as_json(self) -> dict[str, Any]:
        return {"policy_year": self.policy_year, "liability": self.liability,
                "paid_claims": self.paid_claims, "one_stop_claims": self.one_stop_claims,
                "claims_paid": _money(self.claims_paid),
                "one_stop_paid": _money(self.one_stop_paid),
                "count_share": self.count_share, "amount_share": self.amount_share}


def renewal(rows: Iterable[Row]) -> list[RenewalRow]:
    """The rows of queries/renewal_rate.sql, typed."""
    return [RenewalRow(int(r["policy_year"]), r["county_code"], int(r["prior_members"]),
                       int(r["renewed"])) for r in rows]


def personal_account(rows: Iterable[Row]) -> list[PersonalAccountRow]:
    """The rows of queries/personal_account_share.sql, typed."""
    return [PersonalAccountRow(int(r["policy_year"]), r["county_code"],
                               Decimal(r["personal_account_premium"]),
                               Decimal(r["written_premium"])) for r in rows]


def preexisting(rows: Iterable[Row]) -> list[PreexistingRow]:
    """The rows of queries/preexisting_claims_share.sql, typed."""
    return [PreexistingRow(int(r["policy_year"]), int(r["paid_claims"]),
                           int(r["preexisting_claims"]), Decimal(r["claims_paid"]),
                           Decimal(r["preexisting_paid"])) for r in rows]


def claimants(rows: Iterable[Row]) -> list[ClaimantRow]:
    """The rows of queries/claimants.sql, typed."""
    return [ClaimantRow(int(r["policy_year"]), int(r["claimants"]), int(r["paid_claims"]),
                        Decimal(r["claims_paid"])) for r in rows]


def one_stop(rows: Iterable[Row]) -> list[OneStopRow]:
    """The rows of queries/one_stop_by_liability.sql, typed."""
    return [OneStopRow(int(r["policy_year"]), r["liability"], int(r["paid_claims"]),
                       int(r["one_stop_claims"]), Decimal(r["claims_paid"]),
                       Decimal(r["one_stop_paid"])) for r in rows]


@dataclass(frozen=True)
class Indicators:
    """Every indicator of one store as of one date."""

    renewal: list[RenewalRow]
    personal_account: list[PersonalAccountRow]
    preexisting: list[PreexistingRow]
    claimants: list[ClaimantRow]
    one_stop: list[OneStopRow]

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "renewal": [r.as_json() for r in self.renewal],
            "personal_account": [r.as_json() for r in self.personal_account],
            "preexisting": [r.as_json() for r in self.preexisting],
            "claimants": [r.as_json() for r in self.claimants],
            "one_stop": [r.as_json() for r in self.one_stop],
        }


def indicators(con: duckdb.DuckDBPyConnection, as_of: date) -> Indicators:
    """Run the five queries on ``con`` (a store, or a scope's view of it) as of ``as_of``."""
    return Indicators(
        renewal=renewal(queries.rows(con, "renewal_rate", as_of=as_of)),
        personal_account=personal_account(
            queries.rows(con, "personal_account_share", as_of=as_of)),
        preexisting=preexisting(queries.rows(con, "preexisting_claims_share", as_of=as_of)),
        claimants=claimants(queries.rows(con, "claimants", as_of=as_of)),
        one_stop=one_stop(queries.rows(con, "one_stop_by_liability", as_of=as_of)),
    )
