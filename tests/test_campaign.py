"""The enrolment campaign's projection, worked by hand."""

from __future__ import annotations

from datetime import date

import polars as pl

from hmb.measure.campaign import projected_participation_rate, run_rate_projection

AS_OF, DEADLINE = date(2023, 12, 1), date(2023, 12, 31)


def by_day() -> pl.DataFrame:
    # 1,000 enrolled on 1 October, then 70 on 18 November and 70 on 1 December: the last 14
    # days (18 November to 1 December, both included) bring 140, 10 a day.
    return pl.DataFrame({"enroll_date": [date(2023, 10, 1), date(2023, 11, 18), AS_OF],
                         "enrolled": [1_000, 70, 70]})


def test_run_rate_carries_the_last_14_days_to_the_deadline() -> None:
    # 1,140 so far + 10 a day × 30 days to 31 December = 1,440.
    assert run_rate_projection(by_day(), AS_OF, DEADLINE) == (1_440, 10.0)
    # 17 November is outside the window: 70 in 14 days = 5 a day; 1,140 + 5 × 30 = 1,290.
    earlier = by_day().with_columns(
        pl.col("enroll_date").replace({date(2023, 11, 18): date(2023, 11, 17)}))
    assert run_rate_projection(earlier, AS_OF, DEADLINE) == (1_290, 5.0)


def test_after_the_deadline_the_projection_is_the_count_so_far() -> None:
    assert run_rate_projection(by_day(), date(2024, 1, 5), DEADLINE)[0] == 1_140


def test_projected_participation_rate() -> None:
    assert projected_participation_rate(1_440, 4_800) == 0.3  # 1,440 / 4,800
    assert projected_participation_rate(1_440, 0) is None  # no insured base: null, never 0
