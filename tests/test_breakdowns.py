"""The ratios of the dashboard's breakdowns, on tiny frames with the queries' columns.

Every expected number is worked out by hand in the comment next to it. Money is compared exactly
(it comes back to the fen); ratios to 1e-9. Earned premium follows contract §3: written premium ×
clamp(D − 1 Jan Y + 1 day, 0, days(Y)) / days(Y).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from hmb.measure import breakdowns
from hmb.measure.metrics import ratio as metric_ratio

AS_OF = date(2024, 3, 31)  # 2024 has 366 days; 31 + 29 + 31 = 91 of them have elapsed
MONEY = pl.Decimal(18, 2)


def ratio(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def written() -> pl.DataFrame:
    """The finance frame's whole-jurisdiction rows: 2024 written 3,650.00 yuan, so earned by
    31 March 3,650 × 91 / 366 = 907.5136…; 2023 written 365.00, all of it earned by then."""
    return pl.DataFrame({"policy_year": [2023, 2024], "written_premium": [365.0, 3_650.0]},
                        schema={"policy_year": pl.Int32, "written_premium": pl.Float64})


# --- loss ratio by benefit ---------------------------------------------------------------------


def test_loss_ratio_by_liability_divides_by_the_whole_year_earned() -> None:
    claims = pl.DataFrame(
        {"policy_year": [2022, 2024, 2024], "liability": ["drugs", "drugs", "inpatient"],
         "claims_paid": [Decimal("10.00"), Decimal("100.00"), Decimal("500.00")]},
        schema={"policy_year": pl.Int32, "liability": pl.String, "claims_paid": MONEY},
    )
    rows = breakdowns.loss_ratio_by_liability(claims, written(), AS_OF)
    assert rows.columns == ["policy_year", "liability", "claims_paid", "loss_ratio"]
    no_premium, drugs, inpatient = rows["loss_ratio"].to_list()
    assert no_premium is None  # 2022: no premium written, nothing earned
    assert drugs == ratio(100 * 366 / (3_650 * 91))  # 100 / 907.5136… = 0.1101911…
    assert inpatient == ratio(500 * 366 / (3_650 * 91))  # 500 / 907.5136… = 0.5509558…
    # The benefits of a year add up to the year's loss ratio: 600 / 907.5136… = 0.6611470….
    year = metric_ratio(Decimal(600), Decimal(3_650) * 91 / 366)
    assert year is not None
    assert drugs + inpatient == ratio(year)


def test_loss_ratio_by_liability_of_nothing_is_nothing() -> None:
    claims = pl.DataFrame(schema={"policy_year": pl.Int32, "liability": pl.String,
                                  "claims_paid": MONEY})
    assert breakdowns.loss_ratio_by_liability(claims, written(), AS_OF).columns[-1] == "loss_ratio"


# --- loss ratio by county ----------------------------------------------------------------------


def test_loss_ratio_by_county_earns_each_county_its_own_premium() -> None:
    premium = pl.DataFrame(
        {"policy_year": [2023, 2024, 2024, 2024],
         "county_code": ["350402", "350402", "350403", "350404"],
         "written_premium": [Decimal("365.00"), Decimal("3650.00"), Decimal("7320.00"),
                             Decimal("0.00")],
         "members": [1, 10, 20, 0]},
        schema={"policy_year": pl.Int32, "county_code": pl.String, "written_premium": MONEY,
                "members": pl.Int64},
    )
    claims = pl.DataFrame(
        {"policy_year": [2023, 2024, 2024], "county_code": ["350402", "350402", "350405"],
         "paid_claims": [3, 2, 1],
         "claims_paid": [Decimal("730.00"), Decimal("500.00"), Decimal("99.00")]},
        schema={"policy_year": pl.Int32, "county_code": pl.String, "paid_claims": pl.Int64,
                "claims_paid": MONEY},
    )
    rows = breakdowns.loss_ratio_by_county(premium, claims, AS_OF)
    # 350405 has claims but no premium written: it has no row (as the page always did).
    assert rows.select("policy_year", "county_code").rows() == [
        (2023, "350402"), (2024, "350402"), (2024, "350403"), (2024, "350404")]
    assert rows["paid_claims"].to_list() == [3, 2, 0, 0]
    assert rows["claims_paid"].to_list() == [Decimal("730.00"), Decimal("500.00"),
                                             Decimal("0.00"), Decimal("0.00")]
    # 2023: 365.00 all earned.  350402: 3,650 × 91 / 366 = 907.5136… → 907.51 to the fen.
    # 350403: 7,320 × 91 / 366 = 20 a day × 91 = 1,820.00.  350404: nothing written.
    assert rows["earned_premium"].to_list() == [365.0, 907.51, 1_820.0, 0.0]
    paid_twice, by_hand, nothing_paid, nothing_earned = rows["loss_ratio"].to_list()
    assert paid_twice == ratio(2.0)  # 730 / 365
    assert by_hand == ratio(0.5509558934)  # 500 / 907.5136…, not 500 / 907.51
    assert nothing_paid == 0.0  # 0 / 1,820
    assert nothing_earned is None  # 0 / 0: null, never 0


# --- cumulative loss ratio by month ------------------------------------------------------------


MONTHLY_SCHEMA: dict[str, Any] = {"policy_year": pl.Int32, "settle_month": pl.Date,
                                  "claims_paid": MONEY}


def test_cumulative_loss_ratio_month_by_month_in_a_leap_year() -> None:
    # 2024 written 3,660.00: 10 yuan earned a day.  As of 15 March:
    # January   100 paid / 31 days → 310 earned: 0.3225806…
    # February  nothing more / 60 days → 600: 100 / 600 = 0.1666…
    # March     150 to date / 75 days → 750: 0.2
    claims = pl.DataFrame(
        {"policy_year": [2024, 2024], "settle_month": [date(2024, 1, 1), date(2024, 3, 1)],
         "claims_paid": [Decimal("100.00"), Decimal("50.00")]}, schema=MONTHLY_SCHEMA)
    premium = pl.DataFrame({"policy_year": [2024], "written_premium": [Decimal("3660.00")]})
    rows = breakdowns.cumulative_loss_ratio_by_month(claims, premium, date(2024, 3, 15))
    assert rows.columns == ["policy_year", "month", "month_end", "claims_paid",
                            "earned_premium", "loss_ratio"]
    assert rows.drop("loss_ratio").rows() == [
        (2024, 1, date(2024, 1, 31), 100.0, 310.0),
        (2024, 2, date(2024, 2, 29), 100.0, 600.0),
        (2024, 3, date(2024, 3, 15), 150.0, 750.0),
    ]
    assert rows["loss_ratio"].to_list() == [ratio(100 / 310), ratio(1 / 6), ratio(0.2)]


def test_cumulative_loss_ratio_runs_on_after_december_with_the_whole_premium_earned() -> None:
    # 2023 written 1,000.00 (365 days), months given as text.  January: 31 days earned
    # 1,000 × 31 / 365 = 84.9315… → 84.93, paid 20: 20 / 84.9315… = 0.2354838…
    # December on: all 1,000 earned; paid 20 + 80 = 100 → 0.1, still 0.1 in February 2024.
    claims = pl.DataFrame({"policy_year": [2023, 2023], "settle_month": ["2023-01", "2023-12"],
                           "claims_paid": [20.0, 80.0]})
    premium = pl.DataFrame({"policy_year": [2023], "written_premium": [1_000.0]})
    rows = breakdowns.cumulative_loss_ratio_by_month(claims, premium, date(2024, 2, 10))
    assert rows["month"].to_list() == list(range(1, 15))
    assert rows.row(0) == (2023, 1, date(2023, 1, 31), 20.0, 84.93, ratio(20 * 365 / 31_000))
    assert rows.row(11) == (2023, 12, date(2023, 12, 31), 100.0, 1_000.0, ratio(0.1))
    assert rows.row(13) == (2023, 14, date(2024, 2, 10), 100.0, 1_000.0, ratio(0.1))


def test_cumulative_loss_ratio_without_premium_written_is_null() -> None:
    # 2024 paid 100 in January, but only 2023 has premium written: 100 / 0 is null, month by
    # month (the chart leaves such a year out).
    claims = pl.DataFrame({"policy_year": [2024], "settle_month": [date(2024, 1, 1)],
                           "claims_paid": [Decimal("100.00")]}, schema=MONTHLY_SCHEMA)
    only_2023 = written().filter(pl.col("policy_year") == 2023)
    rows = breakdowns.cumulative_loss_ratio_by_month(claims, only_2023, date(2024, 2, 10))
    assert rows.select("month", "claims_paid", "earned_premium", "loss_ratio").rows() == [
        (1, 100.0, 0.0, None), (2, 100.0, 0.0, None)]
    nothing = pl.DataFrame(schema=MONTHLY_SCHEMA)
    assert breakdowns.cumulative_loss_ratio_by_month(nothing, written(), AS_OF).is_empty()


# --- shares of paid claims ---------------------------------------------------------------------


def test_paid_claim_shares_within_each_policy_year() -> None:
    # 2024: 60, 30 and 10 of 100.  2023: 1 and 3 of 4.  2022: none paid, so no share (0 / 0).
    bands = pl.DataFrame({
        "policy_year": [2024, 2024, 2024, 2023, 2023, 2022, 2022],
        "bucket_order": [1, 2, 3, 1, 2, 1, 2],
        "paid_claims": [60, 30, 10, 1, 3, 0, 0],
    })
    shares = breakdowns.paid_claim_shares(bands)["share"].to_list()
    assert shares == [0.6, 0.3, 0.1, 0.25, 0.75, None, None]
