"""The enrolment campaign's figures: enrolments projected to the deadline at the recent daily
rate, and the participation rate they would give."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

RUN_RATE_DAYS = 14


def run_rate_projection(by_day: pl.DataFrame, as_of: date, deadline: date) -> tuple[int, float]:
    """Enrolments so far plus the last 14 days' daily average carried to the deadline.

    ``by_day`` has enroll_date and enrolled (already filtered to enroll_date ≤ as_of).
    Returns (projected final enrolments, daily rate).
    """
    window_start = as_of - timedelta(days=RUN_RATE_DAYS - 1)
    to_date = int(by_day["enrolled"].sum())
    recent = int(by_day.filter(pl.col("enroll_date") >= window_start)["enrolled"].sum())
    daily = recent / RUN_RATE_DAYS
    return round(to_date + daily * max((deadline - as_of).days, 0)), daily


def projected_participation_rate(projected: int, insured_base: int) -> float | None:
    """Projected enrolments / insured base (contract §3's participation rate at the deadline);
    None without an insured base."""
    return projected / insured_base if insured_base else None
