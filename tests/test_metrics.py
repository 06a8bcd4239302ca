"""Metrics of contract §3, pinned down on golden folders whose answers are worked out by hand.

Each expected number carries its arithmetic in a comment. Money is compared exactly (the JSON
rounds it to the fen); ratios are compared to 1e-9. At the end, a Hypothesis property runs small
random datasets, shuffled and laid out in every accepted way, against the definitions of §3
worked in exact fractions, and checks the invariants: rates in [0, 1], counties summing to the
jurisdiction, insurers' premiums summing to the whole, rows sorted, money in whole fen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from random import Random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmb.ingest.dataset import open_dataset
from hmb.measure import metrics
from hmb.rulebook.profiles import load_profile
from tests.builders import (
    Row,
    basic_insured_row,
    claim_row,
    enrollment_row,
    expense_row,
    finance_row,
    in_jurisdiction,
    insurer_row,
    members,
    metrics_json,
    participation_row,
    write_folder,
)

RATIO_KEYS = ("rate", "loss_ratio", "combined_ratio")
POOL_KEYS = ("pool_open", "pool_draw", "pool_close")
PROFILES = ("sanming-2024", "nantong-2021", "hunan-2024", "wenzhou-2021", "shenyang-2021")


def ratio(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


# --- participation ----------------------------------------------------------------------------


def participation_folder(root: Path) -> Path:
    """Four 2024 counties and one 2023 county; as-of 2024-06-30.

    2024 350402: A1, A2, A5 (enrolled on the as-of date), A6 (employee) count -> 4;
                 A3 is cancelled and A4 enrolled 2024-07-15, after the as-of date.
    2024 350403: B1, B2, B3 -> 3.   2024 350404: nobody.   2024 350405: C1, but no insured base.
    2023 350402: A1 (the same member, an earlier year) -> 1.
    """
    return write_folder(
        root,
        basic_insured=[
            basic_insured_row("350402", 80, policy_year=2023),
            basic_insured_row("350402", 60, scheme="employee"),
            basic_insured_row("350402", 40),
            basic_insured_row("350403", 30, scheme="employee"),
            basic_insured_row("350403", 20),
            basic_insured_row("350404", 10),
            basic_insured_row("350405", 0, scheme="employee"),
            basic_insured_row("350405", 0),
        ],
        enrollment=[
            enrollment_row(member_id="A1", policy_year=2023, enroll_date="2022-12-01"),
            enrollment_row(member_id="A1", enroll_date="2023-11-15"),
            enrollment_row(member_id="A2", enroll_date="2024-01-10"),
            enrollment_row(member_id="A3", status="cancelled", refund_amount=150.0),
            enrollment_row(member_id="A4", enroll_date="2024-07-15"),
            enrollment_row(member_id="A5", enroll_date="2024-06-30"),
            enrollment_row(member_id="A6", scheme="employee", enroll_date="2023-12-20"),
            enrollment_row(member_id="B1", county_code="350403"),
            enrollment_row(member_id="B2", county_code="350403"),
            enrollment_row(member_id="B3", county_code="350403"),
            enrollment_row(member_id="C1", county_code="350405"),
        ],
    )


@pytest.fixture(scope="module")
def participation(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = participation_folder(tmp_path_factory.mktemp("participation"))
    result: dict[str, Any] = metrics_json(folder, "sanming-2024", as_of="2024-06-30")
    return result


def test_enrolled_counts_active_members_enrolled_by_the_as_of_date(
    participation: dict[str, Any],
) -> None:
    result = participation
    # A1, A2, A5 (enroll_date == as-of), A6; not A3 (cancelled), not A4 (2024-07-15 > as-of).
    assert participation_row(result, 2024, "350402")["enrolled"] == 4
    assert participation_row(result, 2024, "350403")["enrolled"] == 3
    assert participation_row(result, 2023, "350402")["enrolled"] == 1


def test_insured_base_sums_the_schemes(participation: dict[str, Any]) -> None:
    result = participation
    assert participation_row(result, 2024, "350402")["insured_base"] == 100  # 60 + 40
    assert participation_row(result, 2024, "350403")["insured_base"] == 50  # 30 + 20
    assert participation_row(result, 2024, "350404")["insured_base"] == 10
    assert participation_row(result, 2023, "350402")["insured_base"] == 80


def test_participation_rate_per_county(participation: dict[str, Any]) -> None:
    result = participation
    assert participation_row(result, 2024, "350402")["rate"] == ratio(0.04)  # 4 / 100
    assert participation_row(result, 2024, "350403")["rate"] == ratio(0.06)  # 3 / 50
    assert participation_row(result, 2023, "350402")["rate"] == ratio(0.0125)  # 1 / 80


def test_jurisdiction_rate_sums_both_sides_rather_than_averaging_rates(
    participation: dict[str, Any],
) -> None:
    result = participation
    whole = participation_row(result, 2024, None)
    assert whole["enrolled"] == 8  # 4 + 3 + 0 + 1
    assert whole["insured_base"] == 160  # 100 + 50 + 10 + 0
    # 8 / 160 = 0.05; the mean of the defined county rates would be (0.04 + 0.06 + 0) / 3.
    assert whole["rate"] == ratio(0.05)
    whole_2023 = participation_row(result, 2023, None)
    assert (whole_2023["enrolled"], whole_2023["insured_base"]) == (1, 80)
    assert whole_2023["rate"] == ratio(0.0125)


def test_county_without_enrolments_has_a_row_with_rate_zero(participation: dict[str, Any]) -> None:
    result = participation
    row = participation_row(result, 2024, "350404")
    assert row["enrolled"] == 0
    assert row["rate"] == 0.0
    assert row["rate"] is not None


def test_county_with_no_insured_base_has_a_null_rate(participation: dict[str, Any]) -> None:
    result = participation
    row = participation_row(result, 2024, "350405")
    assert (row["enrolled"], row["insured_base"]) == (1, 0)
    assert row["rate"] is None  # 1 / 0


def test_pages_get_the_same_participation_as_the_command_line(tmp_path: Path) -> None:
    """The pages read participation as a Polars frame, the command line as plain rows (it does
    not load Polars): the same query, so the same rows, nulls and types included."""
    folder = participation_folder(tmp_path)
    dataset = open_dataset(folder, load_profile("sanming-2024").liability_codes)
    with dataset.connect() as con:
        frame = metrics.participation(con, date(2024, 6, 30))
        rows = metrics.participation_rows(con, date(2024, 6, 30))
    assert rows == frame.to_dicts()
    assert rows == metrics_json(folder, "sanming-2024", as_of="2024-06-30")["participation"]
    assert any(row["rate"] is None for row in rows)  # the county without a base is compared too


# --- written premium, claims, expenses, ratios, profit, surplus -------------------------------


def finance_folder(root: Path, profile: str = "sanming-2024") -> Path:
    """The golden finance year: 2024, as-of 2024-03-31, insurers I1 (0.6) and I2 (0.4).

    written premium = 241 x 150 (enrolled 2023-12-01)          = 36 150
                    + 150 (enrolled 2024-03-31, the as-of day)  ->  36 300
                    + 150 - 0   (cancelled, nothing refunded)   ->  36 450
                    + 300 - 150 (cancelled, half refunded)      ->  36 600
                    (an active enrolment of 2024-04-01 comes after the as-of date: left out)
    earned premium  = 36 600 x 91 / 366 = 9 100   (31 + 29 + 31 days of leap year 2024)
    claims paid     = 3 000 (settled 03-15) + 1 500 (settled 03-31, the as-of day) = 4 500
                      (not: 800 settled 04-02, a denied claim, a pending claim)
    expenses        = I1 200 + 100, I2 150 = 450
    """
    policyholders = members(241, enroll_date="2023-12-01")
    m = [row["member_id"] for row in policyholders]
    return write_folder(root, name=profile, **in_jurisdiction({
        "basic_insured": [basic_insured_row("350402", 1000)],
        "enrollment": [
            *policyholders,
            enrollment_row(enroll_date="2024-03-31"),
            enrollment_row(status="cancelled", refund_amount=0.0),
            enrollment_row(status="cancelled", premium=300.0, refund_amount=150.0),
            enrollment_row(enroll_date="2024-04-01"),
        ],
        "claims": [
            claim_row(member_id=m[0], paid_amount=3000.0, settle_date="2024-03-15"),
            claim_row(member_id=m[1], paid_amount=1500.0, service_date="2024-03-10",
                      report_date="2024-03-12", settle_date="2024-03-31"),
            claim_row(member_id=m[2], paid_amount=800.0, service_date="2024-03-20",
                      report_date="2024-03-25", settle_date="2024-04-02"),
            claim_row(member_id=m[3], status="denied", paid_amount=0.0, settle_date="2024-03-10"),
            claim_row(member_id=m[4], status="pending", paid_amount=0.0, settle_date=None),
        ],
        "insurers": [insurer_row("I1", 0.6, role="lead"), insurer_row("I2", 0.4)],
        "expenses": [
            expense_row("I1", 200.0, category="operations"),
            expense_row("I1", 100.0, category="it"),
            expense_row("I2", 150.0, category="staff"),
        ],
    }, profile))


@pytest.fixture(scope="module")
def golden_finance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return finance_folder(tmp_path_factory.mktemp("finance"))


@pytest.fixture(scope="module")
def golden_finance_of(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The golden finance year in two counties of each jurisdiction: a rulebook meets only the
    data of its own (tests/test_jurisdiction.py)."""
    root = tmp_path_factory.mktemp("finance-of")
    return {profile: finance_folder(root, profile) for profile in PROFILES}


def test_finance_of_the_whole_jurisdiction(golden_finance: Path) -> None:
    result = metrics_json(golden_finance, "sanming-2024", as_of="2024-03-31")
    row = finance_row(result, 2024)
    assert row["written_premium"] == 36600.0
    assert row["earned_premium"] == 9100.0
    assert row["claims_paid"] == 4500.0
    assert row["expenses"] == 450.0
    assert row["loss_ratio"] == ratio(4500 / 9100)
    assert row["combined_ratio"] == ratio(4950 / 9100)  # (4 500 + 450) / 9 100
    assert row["profit"] == 4150.0  # 9 100 - 4 500 - 450
    # Sanming margin 3 %: 4 150 - 0.03 x 9 100 = 4 150 - 273 = 3 877
    assert row["excess_surplus"] == 3877.0
    assert all(row[key] is None for key in POOL_KEYS)  # Sanming keeps no pool


def test_participation_uses_the_same_as_of_date_as_finance(golden_finance: Path) -> None:
    result = metrics_json(golden_finance, "sanming-2024", as_of="2024-03-31")
    # 241 + 1 active enrolments by 2024-03-31; the two cancelled and the late one do not count.
    assert participation_row(result, 2024, "350402")["enrolled"] == 242
    assert participation_row(result, 2024, "350402")["rate"] == ratio(0.242)  # 242 / 1 000


@pytest.mark.parametrize(
    ("profile", "excess", "i1_excess", "i2_excess"),
    [
        # jurisdiction: profit 4 150 on earned 9 100; I1: 2 460 on 5 460; I2: 1 690 on 3 640
        # 3 %: 4150 - 273 = 3877;  2460 - 163.80 = 2296.20;  1690 - 109.20 = 1580.80
        ("sanming-2024", 3877.0, 2296.2, 1580.8),
        # 10 %: 4150 - 910 = 3240;  2460 - 546 = 1914;  1690 - 364 = 1326
        ("nantong-2021", 3240.0, 1914.0, 1326.0),
        # 5 % (local parameter): 4150 - 455 = 3695;  2460 - 273 = 2187;  1690 - 182 = 1508
        ("wenzhou-2021", 3695.0, 2187.0, 1508.0),
        ("hunan-2024", 3695.0, 2187.0, 1508.0),
        # no margin in 沈医保发〔2021〕40号: excess surplus is not defined
        ("shenyang-2021", None, None, None),
    ],
)
def test_excess_surplus_uses_the_profile_margin(
    golden_finance_of: dict[str, Path], profile: str, excess: float | None,
    i1_excess: float | None, i2_excess: float | None,
) -> None:
    result = metrics_json(golden_finance_of[profile], profile, as_of="2024-03-31")
    assert result["profile"] == profile
    assert finance_row(result, 2024)["excess_surplus"] == excess
    assert finance_row(result, 2024, "I1")["excess_surplus"] == i1_excess
    assert finance_row(result, 2024, "I2")["excess_surplus"] == i2_excess


def test_insurer_rows_split_premium_and_claims_by_share_and_keep_own_expenses(
    golden_finance: Path,
) -> None:
    result = metrics_json(golden_finance, "sanming-2024", as_of="2024-03-31")
    i1 = finance_row(result, 2024, "I1")  # share 0.6, expenses 200 + 100
    assert i1["written_premium"] == 21960.0  # 36 600 x 0.6
    assert i1["earned_premium"] == 5460.0  # 9 100 x 0.6
    assert i1["claims_paid"] == 2700.0  # 4 500 x 0.6
    assert i1["expenses"] == 300.0
    assert i1["profit"] == 2460.0  # 5 460 - 2 700 - 300
    assert i1["loss_ratio"] == ratio(2700 / 5460)
    assert i1["combined_ratio"] == ratio(3000 / 5460)
    i2 = finance_row(result, 2024, "I2")  # share 0.4, expenses 150
    assert i2["written_premium"] == 14640.0  # 36 600 x 0.4
    assert i2["earned_premium"] == 3640.0  # 9 100 x 0.4
    assert i2["claims_paid"] == 1800.0  # 4 500 x 0.4
    assert i2["expenses"] == 150.0
    assert i2["profit"] == 1690.0  # 3 640 - 1 800 - 150
    assert i2["loss_ratio"] == ratio(1800 / 3640)
    assert i2["combined_ratio"] == ratio(1950 / 3640)


def test_written_premium_nets_refunds_over_active_and_cancelled_enrolments(
    tmp_path: Path,
) -> None:
    folder = write_folder(
        tmp_path,
        basic_insured=[basic_insured_row("350402", 100)],
        enrollment=[
            enrollment_row(premium=150.0),  # + 150
            enrollment_row(premium=150.0, status="cancelled", refund_amount=150.0),  # + 0
            enrollment_row(premium=150.0, status="cancelled", refund_amount=100.0),  # + 50
            enrollment_row(premium=150.0, enroll_date="2024-07-01"),  # after the as-of date
        ],
    )
    result = metrics_json(folder, as_of="2024-06-30")
    assert finance_row(result, 2024)["written_premium"] == 200.0  # 150 + 0 + 50


def earned_premium_folder(root: Path) -> Path:
    """2023: 365 members x 100 = 36 500 (100 a day); 2024: 244 members x 150 = 36 600 (100 a day
    over 366 days). Everybody enrolled in December of the year before."""
    return write_folder(
        root,
        basic_insured=[
            basic_insured_row("350402", 1000, policy_year=2023),
            basic_insured_row("350402", 1000),
        ],
        enrollment=[
            *members(365, policy_year=2023, premium=100.0, enroll_date="2022-12-01"),
            *members(244, premium=150.0, enroll_date="2023-12-01"),
        ],
    )


@pytest.fixture(scope="module")
def two_years(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return earned_premium_folder(tmp_path_factory.mktemp("earned"))


@pytest.mark.parametrize(
    ("as_of", "year", "written", "earned"),
    [
        ("2024-01-01", 2024, 36600.0, 100.0),  # 36 600 x 1 / 366
        ("2024-02-29", 2024, 36600.0, 6000.0),  # x (31 + 29) / 366
        ("2024-03-31", 2024, 36600.0, 9100.0),  # x (31 + 29 + 31) / 366
        ("2024-12-31", 2024, 36600.0, 36600.0),  # x 366 / 366
        ("2025-06-30", 2024, 36600.0, 36600.0),  # clamped at days(2024) = 366
        ("2023-12-31", 2024, 36600.0, 0.0),  # before 1 Jan 2024: clamped at 0
        ("2023-03-31", 2023, 36500.0, 9000.0),  # 36 500 x (31 + 28 + 31) / 365, not leap
        ("2023-12-31", 2023, 36500.0, 36500.0),  # x 365 / 365
        ("2024-03-31", 2023, 36500.0, 36500.0),  # after the year: full
    ],
)
def test_earned_premium_is_written_premium_times_the_elapsed_day_fraction(
    two_years: Path, as_of: str, year: int, written: float, earned: float
) -> None:
    result = metrics_json(two_years, as_of=as_of)
    assert result["as_of"] == as_of
    row = finance_row(result, year)
    assert row["written_premium"] == written
    assert row["earned_premium"] == earned


def test_as_of_before_the_year_gives_zero_earned_premium_and_null_ratios(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path,
        basic_insured=[basic_insured_row("350402", 1000)],
        enrollment=members(244, enroll_date="2023-12-01"),
        insurers=[insurer_row("I1", 1.0, role="lead")],
        expenses=[expense_row("I1", 450.0)],
    )
    result = metrics_json(folder, "sanming-2024", as_of="2023-12-31")
    for row in (finance_row(result, 2024), finance_row(result, 2024, "I1")):
        assert row["written_premium"] == 36600.0  # 244 x 150, all enrolled by 2023-12-01
        assert row["earned_premium"] == 0.0
        assert row["claims_paid"] == 0.0
        # Expenses are as reported, whatever the as-of date: they are not pro-rated.
        assert row["expenses"] == 450.0
        assert row["loss_ratio"] is None  # 0 / 0
        assert row["combined_ratio"] is None  # 450 / 0
        assert row["profit"] == -450.0  # 0 - 0 - 450
        assert row["excess_surplus"] == 0.0  # max(0, -450 - 0.03 x 0)


def test_year_found_only_in_insurers_has_a_finance_row_with_null_ratios(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path,
        basic_insured=[basic_insured_row("350402", 1000)],
        enrollment=[enrollment_row()],
        insurers=[
            insurer_row("I1", 1.0, role="lead"),
            insurer_row("I1", 1.0, role="lead", policy_year=2025),
        ],
        expenses=[
            expense_row("I1", 100.0, policy_year=2025),
            expense_row("X9", 70.0, policy_year=2026),  # 2026 is in neither table: no row
        ],
    )
    result = metrics_json(folder, "sanming-2024", as_of="2024-12-31")
    assert sorted({r["policy_year"] for r in result["finance"]}) == [2024, 2025]
    row = finance_row(result, 2025)
    assert (row["written_premium"], row["earned_premium"], row["claims_paid"]) == (0.0, 0.0, 0.0)
    assert row["expenses"] == 100.0
    assert row["loss_ratio"] is None
    assert row["combined_ratio"] is None
    assert row["profit"] == -100.0
    assert row["excess_surplus"] == 0.0
    assert finance_row(result, 2025, "I1")["expenses"] == 100.0


def test_expenses_of_an_insurer_outside_the_group_still_count_for_the_jurisdiction(
    tmp_path: Path,
) -> None:
    folder = write_folder(
        tmp_path,
        basic_insured=[basic_insured_row("350402", 1000)],
        enrollment=[enrollment_row()],
        insurers=[insurer_row("I1", 1.0, role="lead")],
        expenses=[expense_row("I1", 100.0), expense_row("X9", 40.0)],  # X9: a warning, kept
    )
    result = metrics_json(folder, "sanming-2024", as_of="2024-12-31")
    assert finance_row(result, 2024)["expenses"] == 140.0  # 100 + 40: every row of the year
    assert finance_row(result, 2024, "I1")["expenses"] == 100.0  # its own rows only


# --- Hunan's carry-forward pool ---------------------------------------------------------------


def hunan_folder(root: Path) -> Path:
    """Three full years (as-of 2025-01-31), each with written = earned = 100 x 100 = 10 000.

    year  claims   expenses  profit   5 % x earned  excess  open   draw                     close
    2022   7 000    1 000     2 000      500        1 500      0   min(0, 0)       = 0      1 500
    2023   9 000      800       200      500            0  1 500   min(1500, 300)  = 300    1 200
    2024  10 500    1 000    -1 500      500            0  1 200   min(1200, 2000) = 1 200      0

    2022 fills the pool, 2023 draws part of it, 2024 would need 500 + 1 500 = 2 000 and empties it.
    """
    rows: dict[str, list[Row]] = {k: [] for k in ("basic", "enrollment", "claims", "insurers")}
    claims_by_year = {2022: [7000.0], 2023: [9000.0], 2024: [6000.0, 4500.0]}
    expenses = {2022: 1000.0, 2023: 800.0, 2024: 1000.0}
    for year, paid in claims_by_year.items():
        rows["basic"].append(basic_insured_row("430102", 1000, policy_year=year))
        insured = members(100, policy_year=year, county_code="430102", premium=100.0,
                          enroll_date=f"{year - 1}-12-01")
        rows["enrollment"] += insured
        rows["claims"] += [
            claim_row(member_id=insured[i]["member_id"], policy_year=year, county_code="430102",
                      liability="in_scope_copay", service_date=f"{year}-06-01",
                      report_date=f"{year}-06-05", settle_date=f"{year}-06-30",
                      total_cost=20000.0, eligible_amount=amount, paid_amount=amount)
            for i, amount in enumerate(paid)
        ]
        rows["insurers"].append(insurer_row("H1", 1.0, policy_year=year, role="lead"))
    return write_folder(
        root,
        basic_insured=rows["basic"],
        enrollment=rows["enrollment"],
        claims=rows["claims"],
        insurers=rows["insurers"],
        expenses=[expense_row("H1", amount, policy_year=y) for y, amount in expenses.items()],
    )


@pytest.fixture(scope="module")
def hunan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = hunan_folder(tmp_path_factory.mktemp("hunan"))
    result: dict[str, Any] = metrics_json(folder, "hunan-2024", as_of="2025-01-31")
    return result


@pytest.mark.parametrize(
    ("year", "claims_profit_excess", "pool"),
    [
        (2022, (7000.0, 2000.0, 1500.0), (0.0, 0.0, 1500.0)),
        (2023, (9000.0, 200.0, 0.0), (1500.0, 300.0, 1200.0)),
        (2024, (10500.0, -1500.0, 0.0), (1200.0, 1200.0, 0.0)),
    ],
)
def test_hunan_carry_forward_pool_fills_draws_and_runs_dry(
    hunan: dict[str, Any],
    year: int,
    claims_profit_excess: tuple[float, float, float],
    pool: tuple[float, float, float],
) -> None:
    row = finance_row(hunan, year)
    assert row["earned_premium"] == 10000.0
    assert (row["claims_paid"], row["profit"], row["excess_surplus"]) == claims_profit_excess
    assert (row["pool_open"], row["pool_draw"], row["pool_close"]) == pool


def test_pool_is_kept_for_the_jurisdiction_only(hunan: dict[str, Any]) -> None:
    result = hunan
    for year in (2022, 2023, 2024):
        insurer = finance_row(result, year, "H1")
        assert all(insurer[key] is None for key in POOL_KEYS)
    # Share 1.0: the insurer's own figures equal the jurisdiction's.
    assert finance_row(result, 2022, "H1")["excess_surplus"] == 1500.0


# --- as-of date, row order, exactness, quarantine ---------------------------------------------


def as_of_folder(root: Path, latest: str) -> Path:
    """Accepted dates: enrolments up to 2024-02-10, a claim reported 05-20 and settled 06-15,
    a pending claim reported 05-25. ``latest`` adds one later accepted date of some kind.
    Quarantined rows carry later dates still (2024-09-01, 2024-10-05), which must not count.
    """
    insured = members(243, enroll_date="2023-12-01")
    m = [row["member_id"] for row in insured]
    enrollment = [*insured, enrollment_row(enroll_date="2024-02-10")]  # 244 x 150 = 36 600
    claims = [
        claim_row(member_id=m[0], service_date="2024-05-01", report_date="2024-05-20",
                  settle_date="2024-06-15"),
        claim_row(member_id=m[1], service_date="2024-05-10", report_date="2024-05-25",
                  settle_date=None, status="pending", paid_amount=0.0),
        # quarantined: channel outside its enumeration; a claim of nobody enrolled
        claim_row(member_id="Z9", service_date="2024-09-20", report_date="2024-10-01",
                  settle_date="2024-10-05"),
    ]
    enrollment.append(enrollment_row(channel="alipay", enroll_date="2024-09-01"))
    if latest == "report":
        claims.append(claim_row(member_id=m[2], service_date="2024-06-20",
                                report_date="2024-07-01", settle_date=None, status="pending",
                                paid_amount=0.0))
    if latest == "enroll":
        enrollment.append(enrollment_row(enroll_date="2024-08-01"))
    return write_folder(
        root,
        basic_insured=[basic_insured_row("350402", 1000)],
        enrollment=enrollment,
        claims=claims,
    )


@pytest.mark.parametrize(
    ("latest", "as_of", "earned"),
    [
        # settle 2024-06-15: day 31+29+31+30+31+15 = 167 of 366 -> 36 600 x 167 / 366 = 16 700
        ("settle", "2024-06-15", 16700.0),
        # report 2024-07-01: day 182 + 1 = 183 -> 18 300
        ("report", "2024-07-01", 18300.0),
        # enrolment 2024-08-01: day 213 + 1 = 214; written 36 600 + 150 = 36 750;
        # 36 750 x 214 / 366 = 21 487.704... -> 21 487.70
        ("enroll", "2024-08-01", 21487.70),
    ],
)
def test_default_as_of_is_the_latest_accepted_enroll_report_or_settle_date(
    tmp_path: Path, latest: str, as_of: str, earned: float
) -> None:
    result = metrics_json(as_of_folder(tmp_path, latest), "sanming-2024")
    assert result["as_of"] == as_of
    assert finance_row(result, 2024)["earned_premium"] == earned


def test_rows_are_sorted_by_year_then_code_with_the_total_row_first(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path,
        basic_insured=[
            basic_insured_row("350403", 100),
            basic_insured_row("350402", 100, policy_year=2023),
            basic_insured_row("350402", 100),
            basic_insured_row("350403", 100, policy_year=2023),
        ],
        enrollment=[
            enrollment_row(county_code="350403"),
            enrollment_row(county_code="350402", policy_year=2023, enroll_date="2022-12-01"),
            enrollment_row(county_code="350402"),
        ],
        insurers=[
            insurer_row("I2", 0.4),
            insurer_row("I1", 1.0, policy_year=2023, role="lead"),
            insurer_row("I1", 0.6, role="lead"),
        ],
    )
    result = metrics_json(folder, "sanming-2024", as_of="2024-06-30")
    assert list(result) == ["profile", "as_of", "participation", "finance"]
    assert (result["profile"], result["as_of"]) == ("sanming-2024", "2024-06-30")
    assert [(r["policy_year"], r["county_code"]) for r in result["participation"]] == [
        (2023, None), (2023, "350402"), (2023, "350403"),
        (2024, None), (2024, "350402"), (2024, "350403"),
    ]
    assert [(r["policy_year"], r["insurer_id"]) for r in result["finance"]] == [
        (2023, None), (2023, "I1"),
        (2024, None), (2024, "I1"), (2024, "I2"),
    ]


def test_rows_carry_the_contract_keys(golden_finance_of: dict[str, Path]) -> None:
    result = metrics_json(golden_finance_of["hunan-2024"], "hunan-2024", as_of="2024-03-31")
    for row in result["participation"]:
        assert {"policy_year", "county_code", "enrolled", "insured_base", "rate"} <= set(row)
    finance_keys = {
        "policy_year", "insurer_id", "written_premium", "earned_premium", "claims_paid",
        "expenses", "loss_ratio", "combined_ratio", "profit", "excess_surplus", *POOL_KEYS,
    }
    for row in result["finance"]:
        assert finance_keys <= set(row)


@pytest.mark.parametrize("amounts", ["double", "decimal"])
def test_money_sums_are_exact_to_the_fen(tmp_path: Path, amounts: str) -> None:
    insured_2024 = members(1000, premium=296.01)
    folder = write_folder(
        tmp_path,
        basic_insured=[
            basic_insured_row("350402", 5000, policy_year=2023),
            basic_insured_row("350402", 5000),
        ],
        enrollment=[
            enrollment_row(policy_year=2023, premium=0.10, enroll_date="2022-12-01"),
            enrollment_row(policy_year=2023, premium=0.20, enroll_date="2022-12-01"),
            enrollment_row(policy_year=2023, premium=0.10, enroll_date="2022-12-01",
                           status="cancelled", refund_amount=0.10),
            *insured_2024,
        ],
        claims=[
            claim_row(member_id=insured_2024[i]["member_id"], paid_amount=0.10) for i in range(3)
        ],
        insurers=[
            insurer_row("I1", 1.0, role="lead", policy_year=2023),
            insurer_row("I1", 1.0, role="lead"),
        ],
        expenses=[expense_row("I1", 0.10), expense_row("I1", 0.20, category="it")],
        amounts=amounts,  # type: ignore[arg-type]
    )
    result = metrics_json(folder, "sanming-2024", as_of="2024-12-31")
    year_2023 = finance_row(result, 2023)
    assert year_2023["written_premium"] == 0.30  # 0.10 + 0.20 + (0.10 - 0.10)
    assert year_2023["earned_premium"] == 0.30  # a full year
    assert year_2023["profit"] == 0.30
    assert year_2023["excess_surplus"] == 0.29  # 0.30 - 0.03 x 0.30 = 0.291 -> 0.29
    year_2024 = finance_row(result, 2024)
    assert year_2024["written_premium"] == 296010.00  # 1 000 x 296.01
    assert year_2024["earned_premium"] == 296010.00  # the as-of date closes the year
    assert year_2024["claims_paid"] == 0.30  # 3 x 0.10
    assert year_2024["expenses"] == 0.30  # 0.10 + 0.20
    assert year_2024["profit"] == 296009.40  # 296 010 - 0.30 - 0.30
    # 296 009.40 - 0.03 x 296 010 = 296 009.40 - 8 880.30 = 287 129.10
    assert year_2024["excess_surplus"] == 287129.10
    assert year_2024["loss_ratio"] == ratio(0.30 / 296010)


def test_quarantined_rows_do_not_count(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path,
        basic_insured=[basic_insured_row("350402", 100)],
        enrollment=[
            enrollment_row(member_id="A1"),
            enrollment_row(member_id="A2"),
            enrollment_row(member_id="A3", scheme="farmer"),  # invalid_value
            enrollment_row(member_id="A4", premium=-150.0),  # negative_amount
            enrollment_row(member_id="A5"),  # duplicate_key: both copies go
            enrollment_row(member_id="A5"),
            enrollment_row(member_id="A6", county_code="350499"),  # unknown_county
        ],
        claims=[
            claim_row(member_id="A1", paid_amount=500.0),
            claim_row(member_id="A5", paid_amount=700.0),  # its enrolment is quarantined
            claim_row(member_id="Z9", paid_amount=900.0),  # never enrolled
            claim_row(member_id="A2", paid_amount=300.0, service_date="2024-03-10",
                      report_date="2024-03-09"),  # report_before_service
        ],
        insurers=[insurer_row("I1", 1.0, role="lead")],
        expenses=[expense_row("I1", 100.0), expense_row("I1", -50.0, category="it")],
    )
    result = metrics_json(folder, "sanming-2024", as_of="2024-06-30")
    assert participation_row(result, 2024, "350402")["enrolled"] == 2  # A1, A2
    assert participation_row(result, 2024, None)["enrolled"] == 2
    row = finance_row(result, 2024)
    assert row["written_premium"] == 300.0  # A1 150 + A2 150
    assert row["claims_paid"] == 500.0  # A1's claim only
    assert row["expenses"] == 100.0  # the negative row is quarantined


# --- properties -------------------------------------------------------------------------------

COUNTIES = ("350402", "350403", "350404")
SHARE_SPLITS = ((1.0,), (0.6, 0.4), (0.5, 0.3, 0.2))


def fen(low: int, high: int) -> st.SearchStrategy[float]:
    """An amount in yuan with whole fen, between low and high fen."""
    return st.integers(low, high).map(lambda cents: cents / 100)


@dataclass(frozen=True)
class Dataset:
    tables: dict[str, list[Row]]
    profile: str
    as_of: str


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    """A small valid dataset: no row is quarantined, every claim's member is enrolled."""
    years = draw(st.sampled_from([(2024,), (2023, 2024)]))
    counties = draw(st.lists(st.sampled_from(COUNTIES), min_size=1, max_size=3, unique=True))
    tables: dict[str, list[Row]] = {
        k: [] for k in ("enrollment", "claims", "basic_insured", "insurers", "expenses")
    }
    for year in years:
        enrolled: Counter[str] = Counter()
        for index in range(draw(st.integers(0, 8))):
            county = draw(st.sampled_from(counties))
            status = draw(st.sampled_from(["active", "active", "cancelled"]))
            premium_cents = draw(st.integers(0, 40000))
            refund_cents = draw(st.integers(0, premium_cents)) if status == "cancelled" else 0
            enroll_date = date(year - 1, 10, 1) + timedelta(days=draw(st.integers(0, 455)))
            member_id = f"M{index:03d}"
            enrolled[county] += 1
            tables["enrollment"].append(enrollment_row(
                policy_year=year, member_id=member_id, county_code=county, status=status,
                premium=premium_cents / 100, refund_amount=refund_cents / 100,
                enroll_date=enroll_date.isoformat(),
            ))
            if draw(st.booleans()):
                tables["claims"].append(draw(claims(year, member_id, county)))
        for county in counties:
            tables["basic_insured"] += [
                basic_insured_row(county, enrolled[county] + draw(st.integers(0, 5)),
                                  policy_year=year),
                basic_insured_row(county, draw(st.integers(0, 5)), scheme="employee",
                                  policy_year=year),
            ]
        shares = draw(st.sampled_from(SHARE_SPLITS))
        for number, share in enumerate(shares, start=1):
            insurer = f"I{number}"
            tables["insurers"].append(insurer_row(
                insurer, share, policy_year=year, role="lead" if number == 1 else "member"))
            tables["expenses"] += [
                expense_row(insurer, draw(fen(0, 20000)), policy_year=year)
                for _ in range(draw(st.integers(0, 2)))
            ]
    as_of = date(2023, 6, 1) + timedelta(days=draw(st.integers(0, 700)))
    profile = draw(st.sampled_from(PROFILES))
    # The counties of the rulebook's own jurisdiction: another's is refused.
    return Dataset(in_jurisdiction(tables, profile), profile, as_of.isoformat())


@st.composite
def claims(draw: st.DrawFn, year: int, member_id: str, county: str) -> Row:
    service = date(year, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
    report = service + timedelta(days=draw(st.integers(0, 20)))
    status = draw(st.sampled_from(["paid", "paid", "denied", "pending"]))
    settle = None if status == "pending" else report + timedelta(days=draw(st.integers(0, 30)))
    # Claims and expenses small enough against premiums that years end in profit as often as
    # in loss, so that margins and the pool are exercised.
    paid = draw(fen(0, 30000)) if status == "paid" else 0.0
    eligible = round(paid + draw(fen(0, 100000)), 2)
    total = round(eligible + draw(fen(0, 100000)), 2)
    return claim_row(
        member_id=member_id, policy_year=year, county_code=county,
        service_date=service.isoformat(), report_date=report.isoformat(),
        settle_date=None if settle is None else settle.isoformat(), status=status,
        paid_amount=paid, eligible_amount=eligible, total_cost=total,
        basic_paid=0.0, critical_paid=0.0, assistance_paid=0.0,
    )


MARGINS = {  # the rulebooks' surplus margins (data/rulebooks/*.toml)
    "sanming-2024": Fraction(3, 100),
    "nantong-2021": Fraction(10, 100),
    "hunan-2024": Fraction(5, 100),
    "wenzhou-2021": Fraction(5, 100),
    "shenyang-2021": None,
}
KEEPS_POOL = {"hunan-2024"}


def expected_metrics(data: Dataset) -> dict[str, Any]:
    """Contract §3 applied literally, in exact fractions, to a dataset with no quarantined row.

    Keyed by (year, county) and (year, insurer) rather than ordered: order is checked apart.
    """
    as_of = date.fromisoformat(data.as_of)
    t = data.tables

    def money(value: Any) -> Fraction:
        return Fraction(str(value))

    def on_time(day: str | None) -> bool:
        return day is not None and date.fromisoformat(day) <= as_of

    participation: dict[tuple[int, str | None], tuple[int, int]] = {}
    for year, county in {(r["policy_year"], r["county_code"]) for r in t["basic_insured"]}:
        enrolled = sum(
            1 for r in t["enrollment"]
            if (r["policy_year"], r["county_code"]) == (year, county)
            and r["status"] == "active" and on_time(r["enroll_date"])
        )
        base = sum(
            r["insured_count"] for r in t["basic_insured"]
            if (r["policy_year"], r["county_code"]) == (year, county)
        )
        participation[(year, county)] = (enrolled, base)
    for year in {year for year, _ in participation}:
        counties = [v for (y, _), v in participation.items() if y == year]
        participation[(year, None)] = (sum(e for e, _ in counties), sum(b for _, b in counties))

    margin = MARGINS[data.profile]
    finance: dict[tuple[int, str | None], dict[str, Any]] = {}
    pool_close = Fraction(0)
    years = sorted({r["policy_year"] for r in t["enrollment"] + t["insurers"]})
    for year in years:
        written = sum(
            (money(r["premium"]) - money(r["refund_amount"]) for r in t["enrollment"]
             if r["policy_year"] == year and on_time(r["enroll_date"])),
            Fraction(0),
        )
        days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
        elapsed = min(max((as_of - date(year, 1, 1)).days + 1, 0), days)
        claims_paid = sum(
            (money(r["paid_amount"]) for r in t["claims"]
             if r["policy_year"] == year and r["status"] == "paid" and on_time(r["settle_date"])),
            Fraction(0),
        )
        year_expenses = [r for r in t["expenses"] if r["policy_year"] == year]
        earned = written * elapsed / days
        total_expenses = sum((money(r["amount"]) for r in year_expenses), Fraction(0))
        whole = figures(written, earned, claims_paid, expenses=total_expenses, share=Fraction(1),
                        margin=margin)
        if data.profile in KEEPS_POOL and margin is not None:
            pool_open = pool_close
            shortfall = max(Fraction(0), margin * whole["earned_premium"] - whole["profit"])
            draw = min(pool_open, shortfall)
            pool_close = pool_open - draw + whole["excess_surplus"]
            whole.update(pool_open=pool_open, pool_draw=draw, pool_close=pool_close)
        finance[(year, None)] = whole
        for insurer in (r for r in t["insurers"] if r["policy_year"] == year):
            own = sum((money(r["amount"]) for r in year_expenses
                       if r["insurer_id"] == insurer["insurer_id"]), Fraction(0))
            finance[(year, insurer["insurer_id"])] = figures(
                written, earned, claims_paid, expenses=own, share=money(insurer["share"]),
                margin=margin,
            )
    return {"participation": participation, "finance": finance}


def figures(
    written: Fraction, earned: Fraction, claims_paid: Fraction, *, expenses: Fraction,
    share: Fraction, margin: Fraction | None,
) -> dict[str, Any]:
    """One finance row: premium and claims split by share, the insurer's own expenses."""
    earned, claims = earned * share, claims_paid * share
    profit = earned - claims - expenses
    return {
        "written_premium": written * share,
        "earned_premium": earned,
        "claims_paid": claims,
        "expenses": expenses,
        "loss_ratio": claims / earned if earned else None,
        "combined_ratio": (claims + expenses) / earned if earned else None,
        "profit": profit,
        "excess_surplus": None if margin is None else max(Fraction(0), profit - margin * earned),
        "pool_open": None,
        "pool_draw": None,
        "pool_close": None,
    }


@st.composite
def layouts(draw: st.DrawFn) -> dict[str, Any]:
    """How write_folder lays a dataset out: file, folder of files or hive; DATE or text dates;
    DOUBLE or DECIMAL amounts."""
    return {
        "layout": draw(st.sampled_from(["file", "folder", "hive"])),
        "files": draw(st.integers(1, 3)),
        "dates": draw(st.sampled_from(["date", "string"])),
        "amounts": draw(st.sampled_from(["double", "decimal"])),
    }


@settings(max_examples=25, deadline=None)
@given(
    data=datasets(),
    seed=st.integers(0, 2**32 - 1),
    layout=layouts(),
)
def test_random_datasets_give_the_contract_answer_whatever_the_row_order_and_layout(
    tmp_path_factory: pytest.TempPathFactory, data: Dataset, seed: int, layout: dict[str, Any]
) -> None:
    # Rows are shuffled and tables split into files or hive partitions; the answer must still be
    # the one worked out from the contract's definitions (so it cannot depend on either).
    rng = Random(seed)
    shuffled = {table: rng.sample(rows, len(rows)) for table, rows in data.tables.items()}
    folder = write_folder(tmp_path_factory.mktemp("random"), **layout, **shuffled)
    result = metrics_json(folder, data.profile, data.as_of)

    assert_rates_bounded(result)
    assert_counties_sum_to_the_jurisdiction(result)
    assert_insurer_premiums_sum_to_the_jurisdiction(result)
    assert_sorted(result)
    assert_money_rounded_to_the_fen(result)

    expected = expected_metrics(data)
    got = {(r["policy_year"], r["county_code"]): r for r in result["participation"]}
    assert set(got) == set(expected["participation"])
    for key, (enrolled, base) in expected["participation"].items():
        assert (got[key]["enrolled"], got[key]["insured_base"]) == (enrolled, base), key
    rows = {(r["policy_year"], r["insurer_id"]): r for r in result["finance"]}
    assert set(rows) == set(expected["finance"])
    for key, figures in expected["finance"].items():
        for name, value in figures.items():
            actual = rows[key][name]
            if value is None:
                assert actual is None, (key, name)
            elif name in RATIO_KEYS:
                assert actual == ratio(float(value)), (key, name)
            else:
                # Money is rounded to the fen; a figure derived from rounded parts may be a
                # fen off the exact one.
                assert abs(actual - float(value)) <= 0.015, (key, name, actual, float(value))


MONEY_KEYS = ("written_premium", "earned_premium", "claims_paid", "expenses", "profit",
              "excess_surplus", *POOL_KEYS)


def assert_money_rounded_to_the_fen(result: dict[str, Any]) -> None:
    for row in result["finance"]:
        for key in MONEY_KEYS:
            if row[key] is not None:
                assert round(row[key], 2) == row[key], (key, row)


def assert_sorted(result: dict[str, Any]) -> None:
    def order(year: int, code: str | None) -> tuple[int, int, str]:
        return (year, code is not None, code or "")

    keys = [order(r["policy_year"], r["county_code"]) for r in result["participation"]]
    assert keys == sorted(keys)
    keys = [order(r["policy_year"], r["insurer_id"]) for r in result["finance"]]
    assert keys == sorted(keys)


def assert_rates_bounded(result: dict[str, Any]) -> None:
    for row in result["participation"]:
        if row["insured_base"] == 0:
            assert row["rate"] is None
        else:
            assert 0.0 <= row["rate"] <= 1.0
            assert row["rate"] == ratio(row["enrolled"] / row["insured_base"])


def assert_counties_sum_to_the_jurisdiction(result: dict[str, Any]) -> None:
    for year in {row["policy_year"] for row in result["participation"]}:
        counties = [
            r for r in result["participation"]
            if r["policy_year"] == year and r["county_code"] is not None
        ]
        whole = participation_row(result, year, None)
        assert whole["enrolled"] == sum(r["enrolled"] for r in counties)
        assert whole["insured_base"] == sum(r["insured_base"] for r in counties)


def assert_insurer_premiums_sum_to_the_jurisdiction(result: dict[str, Any]) -> None:
    for year in {row["policy_year"] for row in result["finance"]}:
        insurers = [
            r for r in result["finance"]
            if r["policy_year"] == year and r["insurer_id"] is not None
        ]
        whole = finance_row(result, year)
        split = sum(r["written_premium"] for r in insurers)
        # Each insurer's share is rounded to the fen: at most a fen apart per insurer.
        assert abs(split - whole["written_premium"]) <= 0.01 * len(insurers) + 1e-9
