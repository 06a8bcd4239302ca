"""The contract's metrics (docs/metrics.md), computed from a validated store.

DuckDB does the aggregation (queries/*.sql); this module only combines the handful of per-year
figures that come back: the earned fraction of the year, ratios, profit, excess surplus, the
carry-forward pool and the per-insurer split. Money stays :class:`~decimal.Decimal` until it is
shown, so totals agree with a regulator's spreadsheet to the fen; a ratio with a zero denominator
is ``None``.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import duckdb

import queries

if TYPE_CHECKING:
    import polars as pl

    from hmb.rulebook.profiles import Profile

FEN = Decimal("0.01")
ZERO = Decimal(0)


def to_fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def earned_fraction(policy_year: int, as_of: date) -> Fraction:
    """Share of the policy year elapsed by ``as_of``: clamp(D − 1 Jan + 1 day, 0, days) / days."""
    days = days_in_year(policy_year)
    elapsed = (as_of - date(policy_year, 1, 1)).days + 1
    return Fraction(min(max(elapsed, 0), days), days)


def earned_premium(written: Decimal, policy_year: int, as_of: date) -> Decimal:
    fraction = earned_fraction(policy_year, as_of)
    return written * fraction.numerator / fraction.denominator


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> float | None:
    """numerator / denominator, or None when the denominator is zero."""
    if denominator == 0:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


def excess_surplus(profit: Decimal, earned: Decimal, margin: float | None) -> Decimal | None:
    """max(0, profit − m × earned premium); None where the rulebook sets no margin."""
    if margin is None:
        return None
    return max(ZERO, profit - Decimal(str(margin)) * earned)


@dataclass(frozen=True)
class FinanceRow:
    """One row of the finance table: a policy year, for all insurers or for one."""

    policy_year: int
    insurer_id: str | None
    insurer_name: str | None
    share: float | None
    written_premium: Decimal
    earned_premium: Decimal
    claims_paid: Decimal
    expenses: Decimal
    margin: float | None
    pool_open: Decimal | None = None
    pool_draw: Decimal | None = None
    pool_close: Decimal | None = None

    @property
    def profit(self) -> Decimal:
        return self.earned_premium - self.claims_paid - self.expenses

    @property
    def excess_surplus(self) -> Decimal | None:
        return excess_surplus(self.profit, self.earned_premium, self.margin)

    @property
    def loss_ratio(self) -> float | None:
        return ratio(self.claims_paid, self.earned_premium)

    @property
    def combined_ratio(self) -> float | None:
        return ratio(self.claims_paid + self.expenses, self.earned_premium)

    @property
    def profit_rate(self) -> float | None:
        return ratio(self.profit, self.earned_premium)

    def as_json(self) -> dict[str, Any]:
        """The contract's JSON row: money to the fen, ratios unrounded, nulls kept."""

        def money(value: Decimal | None) -> float | None:
            return None if value is None else float(to_fen(value))

        return {
            "policy_year": self.policy_year,
            "insurer_id": self.insurer_id,
            "written_premium": money(self.written_premium),
            "earned_premium": money(self.earned_premium),
            "claims_paid": money(self.claims_paid),
            "expenses": money(self.expenses),
            "loss_ratio": self.loss_ratio,
            "combined_ratio": self.combined_ratio,
            "profit": money(self.profit),
            "excess_surplus": money(self.excess_surplus),
            "pool_open": money(self.pool_open),
            "pool_draw": money(self.pool_draw),
            "pool_close": money(self.pool_close),
            "insurer_name": self.insurer_name,
            "share": self.share,
            "profit_rate": self.profit_rate,
        }


def carry_forward_pool(years: Sequence[FinanceRow], opening_balance: Decimal) -> list[FinanceRow]:
    """Run the pool through the years in order (contract §3, 湘政办发〔2024〕5号 三).

    open(Y) = close(Y−1); draw(Y) = min(open(Y), max(0, m × earned − profit));
    close(Y) = open(Y) − draw(Y) + excess surplus(Y).
    """
    result: list[FinanceRow] = []
    balance = opening_balance
    for row in sorted(years, key=lambda r: r.policy_year):
        margin = Decimal(str(row.margin or 0))
        shortfall = max(ZERO, margin * row.earned_premium - row.profit)
        draw = min(balance, shortfall)
        close = balance - draw + (row.excess_surplus or ZERO)
        result.append(replace(row, pool_open=balance, pool_draw=draw, pool_close=close))
        balance = close
    return result


def participation(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """Enrolled, insured base and rate per (year, county) plus whole-jurisdiction rows."""
    return queries.run(con, "participation_rate", as_of=as_of)


def participation_rows(con: duckdb.DuckDBPyConnection, as_of: date) -> list[dict[str, Any]]:
    """:func:`participation` as the contract's JSON rows (policy_year, county_code, enrolled,
    insured_base, rate), without loading Polars."""
    return queries.rows(con, "participation_rate", as_of=as_of)


def finance_rows(con: duckdb.DuckDBPyConnection, profile: Profile, as_of: date) -> list[FinanceRow]:
    """The finance table of contract §3: per policy year, all insurers then each insurer."""
    written = _by_year(queries.rows(con, "written_premium", as_of=as_of), "written_premium")
    claims = _by_year(queries.rows(con, "claims_paid", as_of=as_of), "claims_paid")
    shares = queries.rows(con, "coinsurance_shares")

    expenses_by_year: dict[int, Decimal] = {}
    expenses_by_insurer: dict[tuple[int, str], Decimal] = {}
    for row in queries.rows(con, "operating_expenses"):
        year, amount = row["policy_year"], Decimal(row["expenses"])
        expenses_by_year[year] = expenses_by_year.get(year, ZERO) + amount
        expenses_by_insurer[(year, row["insurer_id"])] = amount

    totals = [
        FinanceRow(
            policy_year=year,
            insurer_id=None,
            insurer_name=None,
            share=None,
            written_premium=written[year],
            earned_premium=earned_premium(written[year], year, as_of),
            claims_paid=claims.get(year, ZERO),
            expenses=expenses_by_year.get(year, ZERO),
            margin=profile.margin(year),
        )
        for year in sorted(written)
    ]
    if any(profile.keeps_pool(row.policy_year) for row in totals):
        totals = carry_forward_pool(totals, Decimal(str(profile.pool_opening_balance)))

    rows: list[FinanceRow] = []
    for total in totals:
        rows.append(total)
        rows.extend(_insurer_rows(total, shares, expenses_by_insurer))
    return rows


def _insurer_rows(
    total: FinanceRow,
    shares: list[dict[str, Any]],
    expenses_by_insurer: dict[tuple[int, str], Decimal],
) -> Iterable[FinanceRow]:
    for insurer in shares:
        if insurer["policy_year"] != total.policy_year:
            continue
        share = Decimal(repr(insurer["share"]))
        yield FinanceRow(
            policy_year=total.policy_year,
            insurer_id=insurer["insurer_id"],
            insurer_name=insurer["insurer_name"],
            share=insurer["share"],
            written_premium=total.written_premium * share,
            earned_premium=total.earned_premium * share,
            claims_paid=total.claims_paid * share,
            expenses=expenses_by_insurer.get((total.policy_year, insurer["insurer_id"]), ZERO),
            margin=total.margin,
        )


def _by_year(rows: list[dict[str, Any]], column: str) -> dict[int, Decimal]:
    return {int(r["policy_year"]): Decimal(r[column]) for r in rows}


def finance(con: duckdb.DuckDBPyConnection, profile: Profile, as_of: date) -> pl.DataFrame:
    """The finance table as a frame for pages and exports (money as float yuan, to the fen)."""
    import polars as pl  # noqa: PLC0415 (the command line prints finance_rows without Polars)

    records = [row.as_json() for row in finance_rows(con, profile, as_of)]
    schema = {
        "policy_year": pl.Int32,
        "insurer_id": pl.String,
        "written_premium": pl.Float64,
        "earned_premium": pl.Float64,
        "claims_paid": pl.Float64,
        "expenses": pl.Float64,
        "loss_ratio": pl.Float64,
        "combined_ratio": pl.Float64,
        "profit": pl.Float64,
        "excess_surplus": pl.Float64,
        "pool_open": pl.Float64,
        "pool_draw": pl.Float64,
        "pool_close": pl.Float64,
        "insurer_name": pl.String,
        "share": pl.Float64,
        "profit_rate": pl.Float64,
    }
    return pl.DataFrame(records, schema=schema, orient="row")
