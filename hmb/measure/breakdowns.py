"""The ratios of the dashboard's breakdowns (docs/metrics.md#dashboard-breakdowns-仪表盘分解).

The queries split claims and premium by benefit, county, month and size; this module turns those
rows into the ratios the pages show, with the definitions of contract §3: earned premium is
written premium × :func:`~hmb.measure.metrics.earned_fraction` of its policy year, worked in
:class:`~decimal.Decimal`; a loss ratio is claims paid / earned premium, null where nothing is
earned. Money comes back as float yuan to the fen, as in :func:`hmb.measure.metrics.finance`;
ratios are computed before any rounding.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal

import polars as pl

from hmb.measure.metrics import ZERO, earned_premium, ratio, to_fen

MONTHLY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "policy_year": pl.Int32,
    "month": pl.Int32,
    "month_end": pl.Date,
    "claims_paid": pl.Float64,
    "earned_premium": pl.Float64,
    "loss_ratio": pl.Float64,
}


def loss_ratio_by_liability(
    claims: pl.DataFrame, written: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """``claims`` (queries/claims_by_liability.sql) with ``loss_ratio``: each benefit's claims
    paid over the earned premium of its whole policy year, so the benefits of a year add up to
    the year's loss ratio. ``written``: policy_year and written_premium, one row per year (the
    finance frame's whole-jurisdiction rows)."""
    earned = _earned_by_year(written, as_of)
    ratios = [ratio(_money(r["claims_paid"]), earned.get(r["policy_year"], ZERO))
              for r in claims.iter_rows(named=True)]
    return claims.with_columns(pl.Series("loss_ratio", ratios, dtype=pl.Float64))


def loss_ratio_by_county(
    written_by_county: pl.DataFrame, claims_by_county: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """One row per policy year and county with premium written
    (queries/written_premium_by_county.sql), with that county's paid claims and claims paid
    (queries/claims_by_county.sql; 0 where none), its earned premium and its loss ratio."""
    rows = (
        written_by_county
        .join(claims_by_county.select("policy_year", "county_code", "paid_claims", "claims_paid"),
              on=["policy_year", "county_code"], how="left")
        .with_columns(pl.col("paid_claims").fill_null(0), pl.col("claims_paid").fill_null(0))
    )
    earned, ratios = [], []
    for r in rows.iter_rows(named=True):
        amount = earned_premium(_money(r["written_premium"]), r["policy_year"], as_of)
        earned.append(float(to_fen(amount)))
        ratios.append(ratio(_money(r["claims_paid"]), amount))
    return rows.with_columns(pl.Series("earned_premium", earned, dtype=pl.Float64),
                             pl.Series("loss_ratio", ratios, dtype=pl.Float64))


def cumulative_loss_ratio_by_month(
    claims_by_month: pl.DataFrame, written: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """Claims paid to the end of each month of a policy year over the premium earned by then.

    ``claims_by_month``: policy_year, settle_month (a date in the month, or ``"YYYY-MM"``),
    claims_paid (queries/claims_by_month.sql); ``written``: policy_year and written_premium.
    One row per policy year with a claim paid and per month from January of that year to the
    month of ``as_of`` (``month`` 1, 2, …; after December the count runs on): ``month_end`` is
    the month's last day, or ``as_of`` in its month; ``claims_paid`` the claims paid from
    January to ``month_end``; ``earned_premium`` the premium earned by ``month_end``;
    ``loss_ratio`` the one over the other (null for a year without written premium).
    """
    earned_by_year = _written_by_year(written)
    paid: dict[tuple[int, date], Decimal] = {}
    for r in claims_by_month.iter_rows(named=True):
        key = (int(r["policy_year"]), _month_start(r["settle_month"]))
        paid[key] = paid.get(key, ZERO) + _money(r["claims_paid"])
    rows = []
    for year in sorted({year for year, _ in paid}):
        cumulative = ZERO
        for month in range(1, (as_of.year - year) * 12 + as_of.month + 1):
            start = date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
            end = min(start.replace(day=calendar.monthrange(start.year, start.month)[1]), as_of)
            cumulative += paid.get((year, start), ZERO)
            earned = earned_premium(earned_by_year.get(year, ZERO), year, end)
            rows.append((year, month, end, float(to_fen(cumulative)), float(to_fen(earned)),
                         ratio(cumulative, earned)))
    return pl.DataFrame(rows, schema=MONTHLY_SCHEMA, orient="row")


def paid_claim_shares(distribution: pl.DataFrame) -> pl.DataFrame:
    """``distribution`` (queries/settlement_lag_distribution.sql or
    claim_size_distribution.sql) with ``share``: each band's paid claims over all paid claims of
    its policy year; null for a year without any."""
    total = pl.col("paid_claims").sum().over("policy_year")
    return distribution.with_columns(
        pl.when(total > 0).then(pl.col("paid_claims") / total).alias("share")
    )


def _earned_by_year(written: pl.DataFrame, as_of: date) -> dict[int, Decimal]:
    return {year: earned_premium(amount, year, as_of)
            for year, amount in _written_by_year(written).items()}


def _written_by_year(written: pl.DataFrame) -> dict[int, Decimal]:
    return {int(r["policy_year"]): _money(r["written_premium"])
            for r in written.iter_rows(named=True)}


def _money(value: Decimal | float | None) -> Decimal:
    """An amount of a query or of the finance frame as Decimal (a float there is to the fen)."""
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _month_start(value: date | str) -> date:
    if isinstance(value, str):
        return date.fromisoformat(f"{value[:7]}-01")
    return value.replace(day=1)
