"""Every rule of the five rulebooks, tested with data: given rows, an as-of date, the alerts.

Like ``promtool test rules``: each :class:`Case` names the rows (a tiny folder written with
tests/builders.py), the as-of date, the rules it is about and the alerts those rules must raise,
with every observed value worked out by hand in a comment. An alert of the case's rules that is
not listed is a failure, so a case that lists none says the rules stay SILENT; other rules of the
profile are not looked at. Cases that share rows share one folder (validation is the slow part).

Money: premiums are written in full before the year starts, so earned premium is written premium
× elapsed days / days in the year (2024 is a leap year: 366 days).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from hmb.ingest.dataset import Dataset, open_dataset
from hmb.judge.alerts import SEVERITY_ORDER, Alert, Scope, alert_id
from hmb.judge.rules import CheckResult, evaluate
from hmb.rulebook.profiles import load_profile
from tests.builders import (
    Row,
    basic_insured_row,
    claim_row,
    enrollment_row,
    expense_row,
    insurer_row,
    run_cli,
    subsidy_eligible_row,
    write_folder,
)

Tables = dict[str, list[Row]]

PROFILES = ("hunan-2024", "nantong-2021", "sanming-2024", "shenyang-2021", "wenzhou-2021")

# A county of each jurisdiction and a benefit code of its rulebook (so claims raise no warning).
YOUXI, YONGAN, SANYUAN, JIANGLE = "350426", "350481", "350404", "350428"  # 三明
CHONGCHUAN = "320613"  # 南通 崇川区
FURONG = "430102"  # 湖南 长沙 芙蓉区
HEPING = "210102"  # 沈阳 和平区
LUCHENG, LONGWAN = "330302", "330303"  # 温州
LIABILITY = {
    "sanming-2024": "inpatient_in_area",
    "nantong-2021": "inpatient_copay",
    "hunan-2024": "in_scope_copay",
    "shenyang-2021": "in_scope_copay",
    "wenzhou-2021": "compliant_costs",
}


# --- the rows: builders named for what they write ---------------------------------------------


@dataclass(frozen=True)
class Cohort:
    """``count`` members enrolled alike (active unless said otherwise)."""

    count: int
    county: str
    year: int = 2024
    premium: float = 150.0
    paid_on: str = "2023-12-01"
    status: str = "active"
    health: str = "healthy"
    group: str | None = None


def cohort_rows(cohort: Cohort) -> list[Row]:
    subsidised = cohort.group is not None
    return [
        enrollment_row(
            policy_year=cohort.year,
            county_code=cohort.county,
            premium=cohort.premium,
            enroll_date=cohort.paid_on,
            status=cohort.status,
            refund_amount=cohort.premium if cohort.status == "cancelled" else 0.0,
            health_status=cohort.health,
            subsidy_group=cohort.group,
            subsidy_amount=cohort.premium if subsidised else 0.0,
            channel="government" if subsidised else "wechat",
        )
        for _ in range(cohort.count)
    ]


def enrolment_tables(
    cohorts: tuple[Cohort, ...], bases: tuple[tuple[str, int, int], ...]
) -> Tables:
    """Enrolments of each cohort; ``bases`` are (county, insured_count, policy_year)."""
    return {
        "basic_insured": [basic_insured_row(c, n, policy_year=y) for c, n, y in bases],
        "enrollment": [row for cohort in cohorts for row in cohort_rows(cohort)],
    }


def sanming_counties(*counties: tuple[str, int, int]) -> Given:
    """三明 2024: per county (code, members enrolled on 2023-12-01, insured base)."""
    return given(
        enrolment_tables,
        cohorts=tuple(Cohort(enrolled, code) for code, enrolled, _ in counties),
        bases=tuple((code, base, 2024) for code, _, base in counties),
    )


def daily(first: str, last: str, per_day: int) -> tuple[tuple[str, int], ...]:
    """``per_day`` enrolments on every day from ``first`` to ``last`` inclusive."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    days = (end - start).days + 1
    return tuple(((start + timedelta(days=i)).isoformat(), per_day) for i in range(days))


def campaign_tables(counties: tuple[tuple[str, int, tuple[tuple[str, int], ...]], ...]) -> Tables:
    """三明 campaign for 2024: per county (code, insured base, ((pay date, members), ...))."""
    cohorts = tuple(
        Cohort(count, code, paid_on=day) for code, _, pattern in counties for day, count in pattern
    )
    return enrolment_tables(cohorts, tuple((code, base, 2024) for code, base, _ in counties))


@dataclass(frozen=True)
class Book:
    """One policy year's money: members at the profile's premium, claims paid, expenses."""

    year: int
    members: int
    claims: tuple[tuple[float, str], ...]  # (paid_amount, settle_date)
    expenses: float


def finance_tables(profile: str, county: str, premium: float, books: tuple[Book, ...]) -> Tables:
    """Members paid on 1 Dec before their year; every claim goes to a year's first member;
    one insurer (I1, share 1) reports the expenses."""
    tables: Tables = {
        "basic_insured": [],
        "enrollment": [],
        "claims": [],
        "insurers": [],
        "expenses": [],
    }
    for book in books:
        rows = cohort_rows(
            Cohort(book.members, county, book.year, premium, f"{book.year - 1}-12-01")
        )
        tables["basic_insured"].append(basic_insured_row(county, 1000, policy_year=book.year))
        tables["enrollment"] += rows
        tables["claims"] += [
            paid_claim(
                profile, rows[0]["member_id"], amount, year=book.year, county=county,
                settled=settled,
            )
            for amount, settled in book.claims
        ]
        tables["insurers"].append(insurer_row("I1", 1.0, policy_year=book.year, role="lead"))
        tables["expenses"].append(expense_row("I1", book.expenses, policy_year=book.year))
    return tables


def paid_claim(
    profile: str, member_id: str, amount: float, *, year: int, county: str, settled: str
) -> Row:
    """A claim served and reported on 2 Jan of its year, paid ``amount`` on ``settled``."""
    return claim_row(
        member_id=member_id,
        policy_year=year,
        county_code=county,
        liability=LIABILITY[profile],
        service_date=f"{year}-01-02",
        report_date=f"{year}-01-02",
        settle_date=settled,
        total_cost=4 * amount,
        basic_paid=2 * amount,
        critical_paid=amount / 2,
        eligible_amount=amount,
        paid_amount=amount,
    )


def subsidy_tables(year: int, entitled: tuple[tuple[str, str, int, int], ...]) -> Tables:
    """Per (county, group, eligible, enrolled): the entitled count and that many enrolments."""
    counties = sorted({county for county, *_ in entitled})
    cohorts = tuple(
        Cohort(enrolled, county, year, paid_on=f"{year - 1}-12-01", group=group)
        for county, group, _, enrolled in entitled
    )
    tables = enrolment_tables(cohorts, tuple((c, 1000, year) for c in counties))
    tables["subsidy_eligible"] = [
        subsidy_eligible_row(county, group, eligible, policy_year=year)
        for county, group, eligible, _ in entitled
    ]
    return tables


def insurer_group_tables(group_sizes: tuple[tuple[int, int], ...]) -> Tables:
    """Per (policy_year, n): n insurers with equal shares, nobody enrolled."""
    return {
        "insurers": [
            insurer_row(f"I{i}", 1 / n, policy_year=year, role="lead" if i == 1 else "member")
            for year, n in group_sizes
            for i in range(1, n + 1)
        ]
    }


# --- folders, built once per distinct "given" ---------------------------------------------------


@dataclass(frozen=True)
class Given:
    """A table builder and its arguments: hashable, so equal givens share one folder."""

    build: Callable[..., Tables]
    params: tuple[tuple[str, Any], ...]

    def tables(self) -> Tables:
        return self.build(**dict(self.params))


def given(build: Callable[..., Tables], **params: Any) -> Given:
    return Given(build, tuple(sorted(params.items())))


def finance(profile: str, county: str, premium: float, *books: Book) -> Given:
    return given(finance_tables, profile=profile, county=county, premium=premium, books=books)


OpenData = Callable[[Given, str], Dataset]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> OpenData:
    """Open (validate) the folder of some rows for a profile; equal rows are written once."""
    root = tmp_path_factory.mktemp("rules")
    folders: dict[Given, Path] = {}
    opened: dict[tuple[Given, str], Dataset] = {}

    def open_for(rows: Given, profile: str) -> Dataset:
        if rows not in folders:
            tables = rows.tables()
            folders[rows] = write_folder(
                root,
                name=f"data{len(folders)}",
                enrollment=tables.get("enrollment", []),
                claims=tables.get("claims", []),
                basic_insured=tables.get("basic_insured", []),
                insurers=tables.get("insurers", []),
                expenses=tables.get("expenses", []),
                subsidy_eligible=tables.get("subsidy_eligible"),
            )
        if (rows, profile) not in opened:
            codes = load_profile(profile).liability_codes
            opened[(rows, profile)] = open_dataset(folders[rows], codes)
        return opened[(rows, profile)]

    return open_for


def check(
    data: Dataset, profile: str, as_of: str, previously_firing: frozenset[str] = frozenset()
) -> CheckResult:
    with data.connect() as con:
        return evaluate(con, load_profile(profile), date.fromisoformat(as_of), previously_firing)


# --- expected alerts ------------------------------------------------------------------------------


def year(policy_year: int) -> Scope:
    return Scope(policy_year=policy_year)


def county(policy_year: int, code: str) -> Scope:
    return Scope(policy_year=policy_year, county_code=code)


def group(policy_year: int, code: str, subsidy_group: str) -> Scope:
    return Scope(policy_year=policy_year, county_code=code, subsidy_group=subsidy_group)


@dataclass(frozen=True)
class Expect:
    """One alert. ``threshold``/``gap`` None: asserted by a dedicated test instead."""

    rule: str
    severity: str
    scope: Scope
    observed: float
    threshold: float | None
    gap: float | None
    gap_unit: str = "pp"
    details: Mapping[str, Any] = field(default_factory=dict)  # compared key by key
    projection: str | None = None
    says_zh: tuple[str, ...] = ()  # fragments of message_zh


@dataclass(frozen=True)
class Case:
    name: str
    profile: str
    rows: Given
    as_of: str
    rules: tuple[str, ...]
    expected: tuple[Expect, ...] = ()
    previously_firing: tuple[tuple[str, Scope], ...] = ()  # (rule id, scope) firing before


# --- 三明 sanming-2024 ------------------------------------------------------------------------

# 尤溪 19/100, 永安 25/100, 三元 20/100 exactly, 将乐 30/100 exactly; the city 94/400 = 23.5 %.
COUNTIES_MIXED = sanming_counties((YOUXI, 19, 100), (YONGAN, 25, 100), (SANYUAN, 20, 100),
                                  (JIANGLE, 30, 100))
COUNTIES_ALL_ABOVE_30 = sanming_counties((YOUXI, 30, 100), (YONGAN, 31, 100))  # city 61/200
COUNTIES_CITY_BELOW_20 = sanming_counties((YOUXI, 15, 100), (YONGAN, 20, 100))  # city 35/200
CITY_EXACTLY_30 = sanming_counties((YOUXI, 30, 100))
CITY_EXACTLY_20 = sanming_counties((YOUXI, 20, 100))
# 尤溪 203/1000 = 20.3 % is between the 20 % floor and the 20.5 % recovery threshold;
# 永安 206/1000 = 20.6 % is above both.
HOVERING = sanming_counties((YOUXI, 203, 1000), (YONGAN, 206, 1000))

# The 2024 campaign, as seen on 2023-12-10. Deadline 2023-12-31 (明政办规〔2023〕5号 三（四））, so
# 21 days remain; the 14-day window is 2023-11-27..2023-12-10.
AS_OF_CAMPAIGN = "2023-12-10"
YOUXI_SLOW = (YOUXI, 1000, (
    ("2023-11-01", 56),
    ("2023-11-26", 14),  # the day before the window: counts to date, not in the run rate
    *daily("2023-11-27", "2023-12-10", 2),  # 14 days × 2 = 28
    ("2023-12-15", 50),  # paid after the as-of date: unknown yet
))
YONGAN_ON_TRACK = (YONGAN, 1000, (("2023-11-01", 130), *daily("2023-11-27", "2023-12-10", 2)))
CAMPAIGN = given(campaign_tables, counties=(YOUXI_SLOW, YONGAN_ON_TRACK))
CAMPAIGN_ON_TRACK = given(campaign_tables, counties=(YONGAN_ON_TRACK,))


def sanming_premiums(*cohorts: Cohort) -> Given:
    return given(enrolment_tables, cohorts=cohorts, bases=((YOUXI, 100, 2024),))


PREMIUMS_WRONG = sanming_premiums(
    Cohort(8, YOUXI), Cohort(2, YOUXI, premium=180.0),
    Cohort(1, YOUXI, premium=200.0, status="cancelled"),  # cancelled: not charged
)
PREMIUMS_RIGHT = sanming_premiums(
    Cohort(10, YOUXI), Cohort(1, YOUXI, premium=200.0, status="cancelled")
)
PAID_LATE = sanming_premiums(
    Cohort(5, YOUXI, paid_on="2023-12-31"),  # on the deadline day: in time
    Cohort(2, YOUXI, paid_on="2024-01-05"),
    Cohort(1, YOUXI, paid_on="2024-02-01"),
)
PAID_ON_TIME = sanming_premiums(
    Cohort(5, YOUXI, paid_on="2023-12-31"),
    Cohort(1, YOUXI, paid_on="2024-01-05", status="cancelled"),  # not an enrolment
)

# 10 members × 150 = 1,500 written; 2024-12-31 → earned 1,500 × 366/366; expenses 50.
SANMING_PROFIT_30 = finance("sanming-2024", YOUXI, 150, Book(2024, 10, ((1000, "2024-11-30"),), 50))
SANMING_PROFIT_3 = finance("sanming-2024", YOUXI, 150, Book(2024, 10, ((1405, "2024-11-30"),), 50))

# (county, group, eligible, enrolled)
SANMING_SUBSIDISED = given(subsidy_tables, year=2024, entitled=(
    (YOUXI, "tekun", 5, 4),
    (YOUXI, "dibao", 3, 3),
    (YOUXI, "dibian", 5, 0),  # 低保边缘 is not among the groups 三（三）4 names
    (YONGAN, "orphan", 2, 0),
    (YONGAN, "wulao", 1, 2),  # more enrolled than the list: coverage 2.0, fine
))
SANMING_SUBSIDISED_ALL = given(subsidy_tables, year=2024, entitled=((YOUXI, "tekun", 2, 2),))

SANMING = "sanming-2024"
SANMING_CASES = [
    Case(
        "county participation: below 20 % critical, 20-30 % warning, exactly 30 % silent",
        SANMING, COUNTIES_MIXED, "2024-06-30", ("county_participation",),
        (
            # 19/100 = 0.19 < 0.20; needs ceil(0.20 × 100) − 19 = 1 more.
            Expect("county_participation", "critical", county(2024, YOUXI), 0.19, 0.20, -0.01,
                   details={"enrolled": 19, "insured_base": 100, "shortfall_people": 1},
                   says_zh=("尤溪县（350426）", "19.00%", "20.00%", "（差 1.00 个百分点）",
                            "还需参保 1 人")),
            # 20/100 = 0.20 exactly: not below the 20 % floor, but below the 30 % aim;
            # 30 − 20 = 10 short.
            Expect("county_participation", "warning", county(2024, SANYUAN), 0.20, 0.30, -0.10,
                   details={"shortfall_people": 10}, says_zh=("三元区（350404）",)),
            # 25/100; 30 − 25 = 5 short.
            Expect("county_participation", "warning", county(2024, YONGAN), 0.25, 0.30, -0.05,
                   details={"shortfall_people": 5}, says_zh=("永安市（350481）",)),
            # 将乐 30/100 = 0.30 exactly: silent.
        ),
    ),
    Case(
        "county participation and city tier: every county at 30 % or more is silent",
        SANMING, COUNTIES_ALL_ABOVE_30, "2024-06-30",
        ("county_participation", "city_participation_tier"),
    ),
    Case(
        "county participation: 20.3 % newly measured warns only (critical floor is 20 %)",
        SANMING, HOVERING, "2024-06-30", ("county_participation",),
        (
            # 0.203 − 0.30 = −0.097; 300 − 203 = 97 short.
            Expect("county_participation", "warning", county(2024, YOUXI), 0.203, 0.30, -0.097,
                   details={"shortfall_people": 97}),
            # 0.206 − 0.30 = −0.094; 300 − 206 = 94 short.
            Expect("county_participation", "warning", county(2024, YONGAN), 0.206, 0.30, -0.094,
                   details={"shortfall_people": 94}),
        ),
    ),
    Case(
        "county participation: a firing county at 20.3 % stays critical (recovery 20.5 %), "
        "one at 20.6 % drops to warning",
        SANMING, HOVERING, "2024-06-30", ("county_participation",),
        (
            # 0.203 < recovery 0.205: still critical (threshold: test_recovery_alert_...).
            Expect("county_participation", "critical", county(2024, YOUXI), 0.203, None, None),
            # 0.206 ≥ 0.205: recovered from critical, still below the 30 % aim.
            Expect("county_participation", "warning", county(2024, YONGAN), 0.206, 0.30, -0.094,
                   details={"shortfall_people": 94}),
        ),
        previously_firing=(("county_participation", county(2024, YOUXI)),
                           ("county_participation", county(2024, YONGAN))),
    ),
    Case(
        # 三（六）3 makes the city's rate a condition of the out-of-pocket cap, not a duty: the
        # tier in force is a notice (test_the_city_tier_is_a_notice_never_an_alert), never an alert.
        "city tier: the city at 23.5 % (a lower tier) raises no alert",
        SANMING, COUNTIES_MIXED, "2024-06-30", ("city_participation_tier",),
    ),
    Case(
        "city tier: the city at 17.5 % (no cap) raises no alert",
        SANMING, COUNTIES_CITY_BELOW_20, "2024-06-30", ("city_participation_tier",),
    ),
    Case(
        "city tier: exactly 30.00 % is silent",
        SANMING, CITY_EXACTLY_30, "2024-06-30",
        ("city_participation_tier", "county_participation"),
    ),
    Case(
        "campaign projection: 14-day run rate × 21 days left projects 14 %",
        SANMING, CAMPAIGN, AS_OF_CAMPAIGN,
        ("county_participation_projection", "county_participation"),
        (
            # 尤溪: to date 56 + 14 + 28 = 98 (the 50 of 12-15 are unknown); run rate 28/14 = 2 a
            # day; projected 98 + 2 × 21 = 140; 140/1000 = 0.14 < 0.20; 200 − 140 = 60 short.
            # 永安: 130 + 28 = 158; 158 + 2 × 21 = 200 → exactly 0.20: silent.
            # county_participation: policy year 2024 has not started on 2023-12-10: silent.
            Expect("county_participation_projection", "warning", county(2024, YOUXI), 0.14, 0.20,
                   -0.06, projection="run_rate_14d",
                   details={"enrolled": 98, "insured_base": 1000, "projected_enrolled": 140,
                            "daily_rate": 2.0, "days_remaining": 21, "deadline": "2023-12-31",
                            "shortfall_people": 60},
                   says_zh=("尤溪县（350426）", "预测参保率", "14.00%",
                            "预测方法：按最近 14 天日均参保人数外推至参保截止日")),
        ),
    ),
    Case(
        "campaign projection: a county projected at exactly 20 % is silent",
        SANMING, CAMPAIGN_ON_TRACK, AS_OF_CAMPAIGN, ("county_participation_projection",),
        # 158 + 28/14 × 21 = 200; 200/1000 = 0.20.
    ),
    Case(
        "campaign projection: after the deadline the county rule judges the real rate",
        SANMING, CAMPAIGN, "2024-01-02",
        ("county_participation_projection", "county_participation"),
        (
            # 尤溪: 98 + 50 (paid 12-15) = 148 of 1000 → 0.148; 200 − 148 = 52 short.
            Expect("county_participation", "critical", county(2024, YOUXI), 0.148, 0.20, -0.052,
                   details={"shortfall_people": 52}),
            # 永安: 158/1000 → 0.158; 200 − 158 = 42 short.
            Expect("county_participation", "critical", county(2024, YONGAN), 0.158, 0.20, -0.042,
                   details={"shortfall_people": 42}),
        ),
    ),
    Case(
        "premium standard: two active policies at 180 yuan (a cancelled one at 200 ignored)",
        SANMING, PREMIUMS_WRONG, "2024-06-30", ("premium_standard",),
        # 2 active at 180 ≠ 150 → count 2 > 0; gap 2 − 0 = 2.
        (Expect("premium_standard", "critical", year(2024), 2, 0, 2, "count",
                details={"expected_premium": 150.0, "premiums_found": [180.0]},
                says_zh=("规定保费 150 元", "180 元")),),
    ),
    Case(
        "premium standard: everyone at 150 yuan is silent",
        SANMING, PREMIUMS_RIGHT, "2024-06-30", ("premium_standard",),
    ),
    Case(
        "enrolment deadline: three paid in 2024 for 2024 cover",
        SANMING, PAID_LATE, "2024-06-30", ("enrolment_deadline",),
        # paid 2024-01-05 (2) and 2024-02-01 (1) > 2023-12-31 → 3; gap 3 − 0.
        (Expect("enrolment_deadline", "warning", year(2024), 3, 0, 3, "count",
                details={"deadline": "2023-12-31", "last_enrolment": "2024-02-01"}),),
    ),
    Case(
        "enrolment deadline: counts only payments known at the as-of date",
        SANMING, PAID_LATE, "2024-01-31", ("enrolment_deadline",),
        # by 2024-01-31 only the two of 01-05 are known.
        (Expect("enrolment_deadline", "warning", year(2024), 2, 0, 2, "count",
                details={"last_enrolment": "2024-01-05"}),),
    ),
    Case(
        "enrolment deadline: paid on 31 Dec is in time; a cancelled late payment is silent",
        SANMING, PAID_ON_TIME, "2024-06-30", ("enrolment_deadline",),
    ),
    Case(
        "net profit cap: 30 % profit in a finished year owes 405 yuan to the fund",
        SANMING, SANMING_PROFIT_30, "2024-12-31", ("net_profit_cap",),
        # profit 1,500 − 1,000 − 50 = 450; 450/1,500 = 0.30 > 0.03;
        # excess 450 − 3 % × 1,500 = 405.
        (Expect("net_profit_cap", "warning", year(2024), 0.30, 0.03, 0.27,
                details={"earned_premium": 1500.0, "claims_paid": 1000.0, "expenses": 50.0,
                         "profit": 450.0, "excess_surplus": 405.0, "excess_amount": 405.0},
                says_zh=("利润率为 30.00%", "应设立健康管理基金")),),
    ),
    Case(
        "net profit cap: a year in progress is not judged (claims lag)",
        SANMING, SANMING_PROFIT_30, "2024-06-30", ("net_profit_cap",),
        # earned 1,500 × 182/366 = 745.90, nothing paid yet: profit rate 93 %, but the year is
        # open and late claims can only lower it.
    ),
    Case(
        "net profit cap: exactly 3 % is silent",
        SANMING, SANMING_PROFIT_3, "2024-12-31", ("net_profit_cap",),
        # 1,500 − 1,405 − 50 = 45; 45/1,500 = 0.03.
    ),
    Case(
        "subsidised groups: a 特困 member and two orphans missing",
        SANMING, SANMING_SUBSIDISED, "2024-06-30", ("subsidised_groups_enrolled",),
        (
            # 尤溪 tekun 4/5 = 0.8; 5 − 4 = 1 missing.
            Expect("subsidised_groups_enrolled", "critical", group(2024, YOUXI, "tekun"), 0.8,
                   1.0, -0.2, details={"eligible": 5, "enrolled": 4, "shortfall_people": 1},
                   says_zh=("尤溪县（350426）", "特困供养人员", "尚有 1 人未参保")),
            # 永安 orphan 0/2 = 0; 2 missing. dibao 3/3, wulao 2/1 and dibian (not listed): silent.
            Expect("subsidised_groups_enrolled", "critical", group(2024, YONGAN, "orphan"), 0.0,
                   1.0, -1.0, details={"shortfall_people": 2}, says_zh=("孤儿",)),
        ),
    ),
    Case(
        "subsidised groups: all enrolled is silent",
        SANMING, SANMING_SUBSIDISED_ALL, "2024-06-30", ("subsidised_groups_enrolled",),
    ),
]


# --- 南通 nantong-2021 ------------------------------------------------------------------------

NANTONG = "nantong-2021"
NANTONG_BASES = ((CHONGCHUAN, 100, 2021), (CHONGCHUAN, 100, 2022))
NANTONG_ONE_AT_300 = given(enrolment_tables, bases=NANTONG_BASES, cohorts=(
    Cohort(9, CHONGCHUAN, 2021, 296.0, "2021-05-01"),
    Cohort(1, CHONGCHUAN, 2021, 300.0, "2021-05-01"),
    Cohort(10, CHONGCHUAN, 2022, 280.0, "2021-12-01"),  # 2022 premium cut: the rule is 2021 only
))
NANTONG_ALL_AT_296 = given(enrolment_tables, bases=NANTONG_BASES, cohorts=(
    Cohort(10, CHONGCHUAN, 2021, 296.0, "2021-05-01"),
    Cohort(10, CHONGCHUAN, 2022, 280.0, "2021-12-01"),
))
# 10 members × 296 = 2,960 written; 2021-12-31 → earned 2,960; expenses 200.
NANTONG_SURPLUS_25 = finance(NANTONG, CHONGCHUAN, 296, Book(2021, 10, ((2000, "2021-11-30"),), 200))
NANTONG_SURPLUS_10 = finance(NANTONG, CHONGCHUAN, 296, Book(2021, 10, ((2464, "2021-11-30"),), 200))

NANTONG_CASES = [
    Case(
        "premium standard: one 2021 policy at 300 yuan; 2022 at 280 is outside the rule's years",
        NANTONG, NANTONG_ONE_AT_300, "2022-06-30", ("premium_standard",),
        (Expect("premium_standard", "critical", year(2021), 1, 0, 1, "count",
                details={"expected_premium": 296.0, "premiums_found": [300.0]}),),
    ),
    Case(
        "premium standard: 2021 all at 296 is silent",
        NANTONG, NANTONG_ALL_AT_296, "2022-06-30", ("premium_standard",),
    ),
    Case(
        "annual surplus cap: 25.7 % surplus lowers next year's premium by 46.40 a member",
        NANTONG, NANTONG_SURPLUS_25, "2021-12-31", ("annual_surplus_cap",),
        # profit 2,960 − 2,000 − 200 = 760; 760/2,960 = 0.256757 > 0.10;
        # excess 760 − 10 % × 2,960 = 464; per member 464/10 = 46.40.
        (Expect("annual_surplus_cap", "warning", year(2021), 760 / 2960, 0.10, 760 / 2960 - 0.10,
                details={"excess_amount": 464.0, "per_member": 46.40},
                says_zh=("应下调下一年度保费或提高保障待遇", "46.40 元")),),
    ),
    Case(
        "annual surplus cap: exactly 10 % is silent",
        NANTONG, NANTONG_SURPLUS_10, "2021-12-31", ("annual_surplus_cap",),
        # 2,960 − 2,464 − 200 = 296; 296/2,960 = 0.10.
    ),
]


# --- 湖南 hunan-2024 --------------------------------------------------------------------------

HUNAN = "hunan-2024"
HUNAN_BASE = ((FURONG, 100, 2024),)
# resident contribution 400 (2024): the ceiling is 50 % = 200 yuan.
HUNAN_PREMIUM_201 = given(enrolment_tables, bases=HUNAN_BASE, cohorts=(
    Cohort(8, FURONG, premium=201.0), Cohort(2, FURONG, premium=201.0, health="preexisting"),
))
HUNAN_PREEXISTING_230 = given(enrolment_tables, bases=HUNAN_BASE, cohorts=(
    Cohort(8, FURONG, premium=200.0), Cohort(2, FURONG, premium=230.0, health="preexisting"),
))


def hunan(*books: Book) -> Given:
    """60 members × 129 = 7,740 written a year."""
    return finance(HUNAN, FURONG, 129, *books)


def hunan_2024(claims: float, expenses: float) -> Given:
    return hunan(Book(2024, 60, ((claims, "2024-12-20"),), expenses))


# 2024-03-01 is day 61 of 366: earned 7,740 × 61/366 = 1,290. Paid 1,000 on 02-20.
HUNAN_MARCH = hunan(Book(2024, 60, ((1000, "2024-02-20"),), 300))
# 2024 develops from 2,000 paid by 2024-07-01 to 5,000 by 2025-07-01 (900 more on 2025-09-01 are
# not known yet): factor 5,000/2,000 = 2.5.
HUNAN_2024_DEVELOPMENT = Book(2024, 60, (
    (2000, "2024-06-15"), (1800, "2024-11-15"), (1200, "2025-03-10"), (900, "2025-09-01"),
), 500)
HUNAN_JULY_2025 = hunan(HUNAN_2024_DEVELOPMENT, Book(2025, 60, ((2000, "2025-05-20"),), 300))
HUNAN_JULY_2025_ON_TRACK = hunan(
    HUNAN_2024_DEVELOPMENT, Book(2025, 60, ((2631.60, "2025-05-20"),), 300)
)
# 2024's only claim was paid on 2024-09-01.
HUNAN_NO_DEVELOPMENT = hunan(
    Book(2024, 60, ((3000, "2024-09-01"),), 500), Book(2025, 60, ((1000, "2025-02-20"),), 300)
)

# 2023 paid 2,000 in June 2023 (development month 6) and 1,000 more in March 2024 (month 15);
# 2024 paid 3,000 in June 2024. At 2024-12-31, 2023 is 24 months old (settled), 2024 is 12.
HUNAN_TWO_YEARS_DEVELOPING = hunan(
    Book(2023, 60, ((2000, "2023-06-15"), (1000, "2024-03-10")), 300),
    Book(2024, 60, ((3000, "2024-06-15"),), 500),
)

HUNAN_CASES = [
    Case(
        "premium ceiling: 201 yuan is above 50 % of the 400 contribution; one price for all",
        HUNAN, HUNAN_PREMIUM_201, "2024-06-30",
        ("premium_ceiling", "no_separate_preexisting_price"),
        # 201/400 = 0.5025 > 0.50; pre-existing 201 − healthy 201 = 0: silent.
        (Expect("premium_ceiling", "critical", year(2024), 0.5025, 0.50, 0.0025,
                details={"premium": 201.0, "resident_contribution": 400.0}),),
    ),
    Case(
        "pre-existing price: 230 against 200 healthy; the ceiling is met exactly",
        HUNAN, HUNAN_PREEXISTING_230, "2024-06-30",
        ("premium_ceiling", "no_separate_preexisting_price"),
        # modal premium 200 (8 of 10): 200/400 = 0.50 exactly, silent; 230 − 200 = 30 yuan.
        (Expect("no_separate_preexisting_price", "critical", year(2024), 30, 0, 30, "yuan",
                details={"healthy_premium": 200.0, "preexisting_premium": 230.0}),),
    ),
    Case(
        "combined ratio cap: 95.6 % in a finished year",
        HUNAN, hunan_2024(6900, 500), "2024-12-31", ("combined_ratio_cap", "payout_ratio_floor"),
        # (6,900 + 500) / 7,740 = 0.956072 > 0.95; payout 6,900/7,740 = 0.891473 ≥ 0.85.
        (Expect("combined_ratio_cap", "critical", year(2024), 7400 / 7740, 0.95,
                7400 / 7740 - 0.95, details={"claims_paid": 6900.0, "expenses": 500.0}),),
    ),
    Case(
        "combined ratio cap: exactly 95 % is silent",
        HUNAN, hunan_2024(6853, 500), "2024-12-31", ("combined_ratio_cap", "payout_ratio_floor"),
        # (6,853 + 500) / 7,740 = 7,353/7,740 = 0.95; payout 6,853/7,740 = 0.885401.
    ),
    Case(
        "payout ratio floor: 84.0 % in a year whose claims have settled (24 months)",
        HUNAN, hunan_2024(6500, 500), "2025-12-31", ("payout_ratio_floor", "combined_ratio_cap"),
        # 6,500/7,740 = 0.839793 < 0.85; combined 7,000/7,740 = 0.904393 ≤ 0.95.
        (Expect("payout_ratio_floor", "critical", year(2024), 6500 / 7740, 0.85,
                6500 / 7740 - 0.85, says_zh=("赔付率为 83.98%",)),),
    ),
    Case(
        "payout ratio floor: 84.0 % just after the year ended is provisional, a warning (no "
        "earlier year to project from)",
        HUNAN, hunan_2024(6500, 500), "2024-12-31", ("payout_ratio_floor", "combined_ratio_cap"),
        # The same 0.839793 < 0.85, but at 12 months of development: never critical yet.
        (Expect("payout_ratio_floor", "warning", year(2024), 6500 / 7740, 0.85,
                6500 / 7740 - 0.85, details={"provisional": True},
                says_zh=("赔付率为 83.98%", "预警性判断")),),
    ),
    Case(
        "payout ratio floor: a developing year is judged on its chain-ladder ultimate, "
        "provisionally; a year before the document's period of force is not judged",
        HUNAN, HUNAN_TWO_YEARS_DEVELOPING, "2024-12-31",
        ("payout_ratio_floor", "combined_ratio_cap"),
        (
            # 2023, 24 months: 3,000/7,740 = 0.387597 < 0.85, but 湘政办发〔2024〕5号 governs
            # from 2024 (its period of force): figures only, no verdict.
            # 2024, 12 months: factors 12→13 … 23→24 come from 2023 alone: 1 but 14→15 =
            # 3,000/2,000 = 1.5, so the ultimate is 3,000 × 1.5 = 4,500; 4,500/7,740 = 0.581395
            # < 0.85: a warning, never critical, saying it is a projection. Combined ratios:
            # 2023 3,300/7,740 and 2024 (4,500 + 500)/7,740 = 0.646 stay under 95 %.
            Expect("payout_ratio_floor", "warning", year(2024), 4500 / 7740, 0.85,
                   4500 / 7740 - 0.85, projection="chain_ladder",
                   details={"provisional": True, "projected_claims": 4500.0,
                            "paid_value": 3000 / 7740, "development_age": 12},
                   says_zh=("预计最终赔付率为 58.14%", "链梯法", "按已付赔款计为 38.76%")),
        ),
    ),
    Case(
        "five days into a year, year-to-date expenses against five days' premium say nothing",
        HUNAN, hunan(Book(2024, 60, ((100, "2024-01-03"),), 300)), "2024-01-05",
        ("combined_ratio_cap", "payout_ratio_floor"),
        # Earned 7,740 × 5/366 = 105.74; (100 + 300)/105.74 = 378 % would read as a breach: silent
        # before day 60 (MIN_DAYS_FOR_PROJECTION), as the in-year projections are.
    ),
    Case(
        "payout ratio floor: exactly 85 % is silent",
        HUNAN, hunan_2024(6579, 500), "2024-12-31", ("payout_ratio_floor", "combined_ratio_cap"),
        # 6,579/7,740 = 0.85; combined 7,079/7,740 = 0.914599.
    ),
    Case(
        "year in progress: combined ratio already above 95 % fires, the payout floor waits, "
        "the projection (no previous year: run rate) warns",
        HUNAN, HUNAN_MARCH, "2024-03-01",
        ("combined_ratio_cap", "payout_ratio_floor", "payout_ratio_projection"),
        (
            # (1,000 + 300) / 1,290 = 1.007752 > 0.95.
            Expect("combined_ratio_cap", "critical", year(2024), 1300 / 1290, 0.95,
                   1300 / 1290 - 0.95, details={"earned_premium": 1290.0}),
            # payout 1,000/1,290 = 0.775 is below 85 % but the year is open: silent.
            # run rate: factor 366/61 = 6; 1,000 × 6 = 6,000; 6,000/7,740 = 0.775194 < 0.85.
            Expect("payout_ratio_projection", "warning", year(2024), 6000 / 7740, 0.85,
                   6000 / 7740 - 0.85, projection="run_rate",
                   details={"method": "run_rate", "factor": 6.0, "claims_paid": 1000.0,
                            "projected_claims": 6000.0, "written_premium": 7740.0},
                   says_zh=("预测全年赔付率", "预测方法：按已过天数占全年比例推算全年赔款")),
        ),
    ),
    Case(
        "payout projection: not before day 60 of the year",
        HUNAN, HUNAN_MARCH, "2024-02-15", ("payout_ratio_projection", "payout_ratio_floor"),
        # 2024-02-15 is 45 days after 1 Jan (< 60; nothing paid yet): too early to project.
    ),
    Case(
        "payout projection: previous year's development from the same day (factor 2.5)",
        HUNAN, HUNAN_JULY_2025, "2025-07-01", ("payout_ratio_projection",),
        # 2,000 paid in 2025 × 2.5 = 5,000; 5,000/7,740 = 0.645995 < 0.85.
        (Expect("payout_ratio_projection", "warning", year(2025), 5000 / 7740, 0.85,
                5000 / 7740 - 0.85, projection="development_from_previous_year",
                details={"method": "development_from_previous_year", "factor": 2.5,
                         "claims_paid": 2000.0, "projected_claims": 5000.0,
                         "written_premium": 7740.0},
                says_zh=("64.60%",
                         "预测方法：按上一年度同期至今的赔款进展倍数推算全年赔款")),),
    ),
    Case(
        "payout projection: a previous year with nothing paid by the same day falls back to the "
        "run rate",
        HUNAN, HUNAN_NO_DEVELOPMENT, "2025-03-14", ("payout_ratio_projection",),
        # 2024 paid nothing by 2024-03-14, so no development factor; 2025-03-14 is day 73 of 365:
        # factor 365/73 = 5; 1,000 × 5 = 5,000; 5,000/7,740 = 0.645995 < 0.85.
        (Expect("payout_ratio_projection", "warning", year(2025), 5000 / 7740, 0.85,
                5000 / 7740 - 0.85, projection="run_rate",
                details={"method": "run_rate", "factor": 5.0, "projected_claims": 5000.0}),),
    ),
    Case(
        "payout projection: developed to exactly 85 % is silent",
        HUNAN, HUNAN_JULY_2025_ON_TRACK, "2025-07-01", ("payout_ratio_projection",),
        # 2,631.60 × 2.5 = 6,579; 6,579/7,740 = 0.85.
    ),
]


# --- 沈阳 shenyang-2021 -----------------------------------------------------------------------

SHENYANG = "shenyang-2021"


def shenyang_2022(claims: float, expenses: float, settled: str = "2022-12-20") -> Given:
    """100 members × 59 = 5,900 written for 2022."""
    return finance(SHENYANG, HEPING, 59, Book(2022, 100, ((claims, settled),), expenses))


# 2022-03-14 is day 73 of 365: earned 5,900 × 73/365 = 1,180; run-rate factor 365/73 = 5.
AS_OF_DAY_73 = "2022-03-14"

SHENYANG_CASES = [
    Case(
        "cost and profit cap: 25 % of premium; the payout ratio at exactly 75 % is silent",
        SHENYANG, shenyang_2022(4425, 300), "2022-12-31",
        ("cost_and_profit_cap", "repricing_trigger"),
        # cost + profit = 5,900 − 4,425 = 1,475; 1,475/5,900 = 0.25 > 0.20;
        # excess (0.25 − 0.20) × 5,900 = 295. Payout 4,425/5,900 = 0.75.
        (Expect("cost_and_profit_cap", "warning", year(2022), 0.25, 0.20, 0.05,
                details={"excess_amount": 295.0},
                says_zh=("成本及盈利率为 25.00%", "（超出 5.00 个百分点）")),),
    ),
    Case(
        "cost and profit cap at exactly 20 % and payout 80 %: silent",
        SHENYANG, shenyang_2022(4720, 300), "2022-12-31",
        ("cost_and_profit_cap", "repricing_trigger"),
        # 5,900 − 4,720 = 1,180; 1,180/5,900 = 0.20; payout 4,720/5,900 = 0.80.
    ),
    Case(
        "repricing trigger: payout 74.6 % in a year whose claims have settled (24 months)",
        SHENYANG, shenyang_2022(4400, 300), "2023-12-31",
        ("repricing_trigger", "cost_and_profit_cap"),
        (
            # 4,400/5,900 = 0.745763 < 0.75.
            Expect("repricing_trigger", "critical", year(2022), 4400 / 5900, 0.75,
                   4400 / 5900 - 0.75),
            # 1,500/5,900 = 0.254237 > 0.20; excess 1,500 − 20 % × 5,900 = 320.
            Expect("cost_and_profit_cap", "warning", year(2022), 1500 / 5900, 0.20,
                   1500 / 5900 - 0.20, details={"excess_amount": 320.0}),
        ),
    ),
    Case(
        "repricing projection (run rate): 800 paid by day 73 projects 67.8 %; the open year's "
        "payout and cost rates are not judged",
        SHENYANG, shenyang_2022(800, 300, "2022-03-10"), AS_OF_DAY_73,
        ("repricing_trigger_projection", "repricing_trigger", "cost_and_profit_cap"),
        # 800 × 5 = 4,000; 4,000/5,900 = 0.677966 < 0.75. (Payout 800/1,180 = 0.678 and cost +
        # profit 380/1,180 = 0.322 would breach, but the year is open: silent.)
        (Expect("repricing_trigger_projection", "warning", year(2022), 4000 / 5900, 0.75,
                4000 / 5900 - 0.75, projection="run_rate",
                details={"factor": 5.0, "projected_claims": 4000.0},
                says_zh=("预测方法：按已过天数占全年比例推算全年赔款",)),),
    ),
    Case(
        "repricing projection: projected exactly 75 % is silent",
        SHENYANG, shenyang_2022(885, 300, "2022-03-10"), AS_OF_DAY_73,
        ("repricing_trigger_projection",),
        # 885 × 5 = 4,425; 4,425/5,900 = 0.75.
    ),
]


# --- 温州 wenzhou-2021 ------------------------------------------------------------------------

WENZHOU = "wenzhou-2021"
WENZHOU_BASE = ((LUCHENG, 1000, 2021),)
# 2021-02-01..2021-04-04: 28 + 31 + 4 = 63 days counting both ends.
WINDOW_63_DAYS = given(enrolment_tables, bases=WENZHOU_BASE, cohorts=(
    Cohort(5, LUCHENG, 2021, paid_on="2021-02-01"), Cohort(5, LUCHENG, 2021, paid_on="2021-04-04"),
))
WINDOW_62_DAYS = given(enrolment_tables, bases=WENZHOU_BASE, cohorts=(
    Cohort(5, LUCHENG, 2021, paid_on="2021-02-01"), Cohort(5, LUCHENG, 2021, paid_on="2021-04-03"),
    Cohort(1, LUCHENG, 2021, paid_on="2021-06-01", status="cancelled"),  # not an enrolment
))
WENZHOU_FARMERS = given(subsidy_tables, year=2021, entitled=(
    (LUCHENG, "low_income_farmer", 4, 3),
    (LONGWAN, "low_income_farmer", 2, 2),
    (LUCHENG, "tekun", 5, 0),  # not a group 温州's rule names
))
WENZHOU_FARMERS_ALL = given(subsidy_tables, year=2021, entitled=(
    (LUCHENG, "low_income_farmer", 2, 2),
))
# 100 members × 150 = 15,000 written for 2021; expenses 1,000.
WENZHOU_PROFIT_6 = finance(WENZHOU, LUCHENG, 150, Book(2021, 100, ((13000, "2021-12-01"),), 1000))
WENZHOU_PROFIT_5 = finance(WENZHOU, LUCHENG, 150, Book(2021, 100, ((13250, "2021-12-01"),), 1000))
# 2021: five insurers, 2022: four, 2023: six.
INSURER_GROUPS = given(insurer_group_tables, group_sizes=((2021, 5), (2022, 4), (2023, 6)))

WENZHOU_CASES = [
    Case(
        "enrolment window: 63 days",
        WENZHOU, WINDOW_63_DAYS, "2021-12-31", ("enrolment_window",),
        (Expect("enrolment_window", "warning", year(2021), 63, 62, 1, "days",
                details={"first_enrolment": "2021-02-01", "last_enrolment": "2021-04-04"},
                says_zh=("投保期 2021-02-01 至 2021-04-04",)),),
    ),
    Case(
        "enrolment window: exactly 62 days is silent (a later cancelled row does not stretch it)",
        WENZHOU, WINDOW_62_DAYS, "2021-12-31", ("enrolment_window",),
    ),
    Case(
        "low-income farmers: one of four missing in 鹿城区",
        WENZHOU, WENZHOU_FARMERS, "2021-06-30", ("low_income_farmers_enrolled",),
        # 3/4 = 0.75 < 1; 4 − 3 = 1 missing. 龙湾 2/2 and 鹿城 tekun (not this rule's): silent.
        (Expect("low_income_farmers_enrolled", "critical",
                group(2021, LUCHENG, "low_income_farmer"), 0.75, 1.0, -0.25,
                details={"shortfall_people": 1}, says_zh=("鹿城区（330302）", "低收入农户")),),
    ),
    Case(
        "low-income farmers: all enrolled is silent",
        WENZHOU, WENZHOU_FARMERS_ALL, "2021-06-30", ("low_income_farmers_enrolled",),
    ),
    Case(
        "excess surplus: 6.7 % profit against the local 5 % margin",
        WENZHOU, WENZHOU_PROFIT_6, "2021-12-31", ("excess_surplus",),
        # 15,000 − 13,000 − 1,000 = 1,000; 1,000/15,000 = 0.066667 > 0.05;
        # excess 1,000 − 5 % × 15,000 = 250.
        (Expect("excess_surplus", "warning", year(2021), 1000 / 15000, 0.05, 1000 / 15000 - 0.05,
                details={"excess_amount": 250.0, "excess_surplus": 250.0},
                says_zh=("应在下一保险期间调节保险责任和待遇",)),),
    ),
    Case(
        "excess surplus: exactly 5 % is silent",
        WENZHOU, WENZHOU_PROFIT_5, "2021-12-31", ("excess_surplus",),
        # 15,000 − 13,250 − 1,000 = 750; 750/15,000 = 0.05.
    ),
    Case(
        "five insurers: four in 2022 and six in 2023 (2021's five are fine)",
        WENZHOU, INSURER_GROUPS, "2023-06-30", ("five_insurers",),
        (
            Expect("five_insurers", "critical", year(2022), 4, 5, -1, "insurers"),
            Expect("five_insurers", "critical", year(2023), 6, 5, 1, "insurers"),
        ),
    ),
    Case(
        "five insurers: exactly five (later years not started yet) is silent",
        WENZHOU, INSURER_GROUPS, "2021-12-31", ("five_insurers",),
    ),
]

CASES = SANMING_CASES + NANTONG_CASES + HUNAN_CASES + SHENYANG_CASES + WENZHOU_CASES


# --- the tests ------------------------------------------------------------------------------------


def _order(severity: str, rule: str, scope: Scope) -> tuple[int, str, str]:
    return SEVERITY_ORDER[severity], rule, scope.key()


def _fired(case: Case, dataset: OpenData) -> list[Alert]:
    firing = frozenset(
        alert_id(case.profile, rule, scope) for rule, scope in case.previously_firing
    )
    result = check(dataset(case.rows, case.profile), case.profile, case.as_of, firing)
    alerts = [a for a in result.alerts if a.rule_id in case.rules]
    return sorted(alerts, key=lambda a: _order(a.severity, a.rule_id, a.scope))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case, dataset: OpenData) -> None:
    alerts = _fired(case, dataset)
    expected = sorted(case.expected, key=lambda e: _order(e.severity, e.rule, e.scope))
    assert [(a.rule_id, a.severity, a.scope) for a in alerts] == [
        (e.rule, e.severity, e.scope) for e in expected
    ]
    profile = load_profile(case.profile)
    rules = {rule.id: rule for rule in profile.rules}
    for alert, want in zip(alerts, expected, strict=True):
        where = f"{want.rule} {want.scope}"
        assert alert.observed == pytest.approx(want.observed, abs=1e-9), where
        if want.threshold is not None:
            assert alert.threshold == pytest.approx(want.threshold, abs=1e-12), where
        if want.gap is not None:
            # Cases write a rate gap as a fraction, like observed and threshold; the alert
            # reports it in percentage points (−0.01 → −1 个百分点).
            gap = want.gap * 100 if want.gap_unit == "pp" else want.gap
            assert alert.gap == pytest.approx(gap, abs=1e-7), where
        assert alert.gap_unit == want.gap_unit, where
        assert alert.projection == want.projection, where
        for key, value in want.details.items():
            got = alert.details.get(key)
            if isinstance(value, float):
                assert got == pytest.approx(value, abs=0.005), f"{where} details[{key}]"
            else:
                assert got == value, f"{where} details[{key}]"
        for fragment in want.says_zh:
            assert fragment in alert.message_zh, f"{where}: {fragment!r} not in {alert.message_zh}"
        # Every alert cites its rule: the document of the profile, the clause, the quote.
        rule = rules[alert.rule_id]
        assert alert.citation.document == profile.document.number
        assert (alert.citation.clause, alert.citation.quote) == (
            rule.citation.clause,
            rule.citation.quote,
        )
        assert alert.id == alert_id(case.profile, alert.rule_id, alert.scope)


# That every rule has a breaching and a silent case is held by tests/test_rule_cases.py, whose
# cases are data (tests/rule_cases/<profile>.toml); the cases here go into the finer details.


def test_local_threshold_is_cited_as_local(dataset: OpenData) -> None:
    """温州's 5 % margin is the working group's parameter: the alert says so."""
    result = check(dataset(WENZHOU_PROFIT_6, WENZHOU), WENZHOU, "2021-12-31")
    (alert,) = [a for a in result.alerts if a.rule_id == "excess_surplus"]
    assert alert.citation.local_parameter is not None
    assert "local parameter" in alert.citation.local_parameter


def test_recovery_alert_reads_against_the_threshold_it_is_below(
    dataset: OpenData,
) -> None:
    """A county at 20.3 % kept critical by the 20.5 % recovery threshold.

    The alert must not tell the supervisor that 20.30 % is "below 20.00 %" with a gap of +0.30
    points and 0 people short. The threshold it is below is the recovery one, 0.205:
    gap 0.203 − 0.205 = −0.002, i.e. −0.2 percentage points;
    people short ceil(0.205 × 1000) − 203 = 205 − 203 = 2.
    """
    firing = frozenset({alert_id(SANMING, "county_participation", county(2024, YOUXI))})
    result = check(dataset(HOVERING, SANMING), SANMING, "2024-06-30", firing)
    (alert,) = [
        a for a in result.alerts
        if a.rule_id == "county_participation" and a.scope == county(2024, YOUXI)
    ]
    assert alert.severity == "critical"
    assert alert.threshold == pytest.approx(0.205)
    assert alert.gap == pytest.approx(-0.2)
    assert alert.details["shortfall_people"] == 2
    assert "20.50%" in alert.message_zh


# --- notices ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "rate", "cap", "says"),
    [
        # 94/400: at least 20 %, below 30 % → cap 120,000.
        (COUNTIES_MIXED, 0.235, 120_000, "个人自付封顶 12 万元"),
        (CITY_EXACTLY_20, 0.20, 120_000, "个人自付封顶 12 万元"),  # 20/100: the tier is reached
        (COUNTIES_ALL_ABOVE_30, 0.305, 100_000, "个人自付封顶 10 万元"),  # 61/200
        (CITY_EXACTLY_30, 0.30, 100_000, "个人自付封顶 10 万元"),  # 30/100
        (COUNTIES_CITY_BELOW_20, 0.175, None, "未达到封顶条件"),  # 35/200
    ],
    ids=["23.5%", "20.00%", "30.5%", "30.00%", "17.5%"],
)
def test_sanming_city_tier_notice(
    rows: Given, rate: float, cap: int | None, says: str,
    dataset: OpenData,
) -> None:
    result = check(dataset(rows, SANMING), SANMING, "2024-06-30")
    (notice,) = [n for n in result.notices if n.topic == "out_of_pocket_cap_tier"]
    assert notice.policy_year == 2024
    assert notice.figures["rate"] == pytest.approx(rate, abs=1e-12)
    assert notice.figures["cap"] == cap
    assert says in notice.message_zh
    assert notice.citation.clause == "三（六）3"


def test_hunan_pool_ledger_notice(dataset: OpenData) -> None:
    """Earned 7,740 a year; the 5 % margin is 387.

    2024: claims 6,579 + expenses 500 → profit 661; excess 661 − 387 = 274; the pool opens at 0,
          draws 0 and closes at 274.
    2025: claims 7,000 + 500 → profit 240, short of the margin by 387 − 240 = 147; draws
          min(274, 147) = 147; adds 0; closes 274 − 147 = 127.
    2026: claims 7,340 + 500 → profit −100, short by 487; draws min(127, 487) = 127; closes 0.
    """
    rows = hunan(
        Book(2024, 60, ((6579, "2024-12-20"),), 500),
        Book(2025, 60, ((7000, "2025-12-20"),), 500),
        Book(2026, 60, ((7340, "2026-12-20"),), 500),
    )
    result = check(dataset(rows, HUNAN), HUNAN, "2026-12-31")
    ledger = {n.policy_year: n.figures for n in result.notices if n.topic == "carry_forward_pool"}
    assert ledger == {
        2024: {"open": 0.0, "draw": 0.0, "added": 274.0, "close": 274.0},
        2025: {"open": 274.0, "draw": 147.0, "added": 0.0, "close": 127.0},
        2026: {"open": 127.0, "draw": 127.0, "added": 0.0, "close": 0.0},
    }
    notice_2025 = next(n for n in result.notices if n.policy_year == 2025)
    assert "年初 0.03 万元" in notice_2025.message_zh  # 274 yuan = 0.0274 万元
    assert notice_2025.citation.document == "湘政办发〔2024〕5号"


# --- the command line -----------------------------------------------------------------------------


def _check_cli(
    dataset: OpenData, rows: Given, as_of: str, *extra: str
) -> tuple[int, dict[str, Any]]:
    folder = dataset(rows, SANMING).folder
    result = run_cli("check", folder, "--profile", SANMING, "--as-of", as_of,
                     "--format", "json", *extra)
    return result.code, result.json() if result.out else {}


@pytest.mark.parametrize(
    ("rows", "fail_on", "code"),
    [
        (COUNTIES_MIXED, None, 0),  # 尤溪 critical, but no --fail-on
        (COUNTIES_MIXED, "critical", 1),
        (COUNTIES_MIXED, "warning", 1),  # a critical alert is worse than a warning
        (CITY_EXACTLY_20, "critical", 0),  # warnings only (county and city at 20.00 %)
        (CITY_EXACTLY_20, "warning", 1),
        (CITY_EXACTLY_30, "warning", 0),  # no alert at all
    ],
    ids=["critical-no-flag", "critical-fail-critical", "critical-fail-warning",
         "warning-fail-critical", "warning-fail-warning", "none-fail-warning"],
)
def test_fail_on_exit_code(
    rows: Given, fail_on: str | None, code: int, dataset: OpenData
) -> None:
    extra = ("--fail-on", fail_on) if fail_on else ()
    got, output = _check_cli(dataset, rows, "2024-06-30", *extra)
    assert got == code, output.get("alerts")


def test_fail_on_with_an_unusable_folder_exits_2(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, omit_tables=["claims"])
    result = run_cli("check", folder, "--profile", SANMING, "--as-of", "2024-06-30",
                     "--format", "json", "--fail-on", "critical")
    assert result.code == 2
    assert "claims" in result.err


def test_alert_id_is_stable_across_runs_and_dates(
    dataset: OpenData,
) -> None:
    _, first = _check_cli(dataset, COUNTIES_MIXED, "2024-06-30")
    _, second = _check_cli(dataset, COUNTIES_MIXED, "2024-06-30")
    _, later = _check_cli(dataset, COUNTIES_MIXED, "2024-09-30")
    assert [a["id"] for a in first["alerts"]] == [a["id"] for a in second["alerts"]]
    assert first["data_fingerprint"] == second["data_fingerprint"]
    # The id hashes profile, rule and scope (policy year|county|insurer|group), not the date.
    youxi = hashlib.sha256(b"sanming-2024|county_participation|2024|350426||").hexdigest()[:16]
    assert youxi in [a["id"] for a in first["alerts"]]
    assert youxi in [a["id"] for a in later["alerts"]]
    assert len({a["id"] for a in first["alerts"]}) == len(first["alerts"])


def test_cli_alert_names_the_county_and_quotes_the_clause(
    dataset: OpenData,
) -> None:
    code, output = _check_cli(dataset, COUNTIES_MIXED, "2024-06-30")
    assert code == 0
    assert output["profile"] == SANMING
    assert output["as_of"] == "2024-06-30"
    assert output["rulebook_version"]
    (youxi,) = [
        a for a in output["alerts"]
        if a["rule_id"] == "county_participation" and a["scope"]["county_code"] == YOUXI
    ]
    assert youxi["severity"] == "critical"
    assert youxi["scope"] == {
        "policy_year": 2024, "county_code": YOUXI, "insurer_id": None, "subsidy_group": None
    }
    assert youxi["observed"] == pytest.approx(0.19)  # 19/100
    assert youxi["threshold"] == pytest.approx(0.20)
    assert youxi["gap"] == pytest.approx(-1.0)  # percentage points
    assert youxi["gap_unit"] == "pp"
    assert youxi["details"]["shortfall_people"] == 1
    assert "尤溪县（350426）" in youxi["message_zh"]
    assert "尤溪县 (350426)" in youxi["message_en"]
    assert youxi["citation"] == {
        "document": "明政办规〔2023〕5号",
        "clause": "三（七）1",
        "quote": "各县（市、区）“三明普惠医联保”参保率不低于当地基本医保缴交人数的 20%，力争达到"
        " 30%，参保率纳入对各县（市、区）工作绩效考核。",
        # the recovery threshold of 20.5 % is the product's, not the document's
        "local_parameter": next(
            r.citation.note for r in load_profile(SANMING).rules if r.id == "county_participation"
        ),
    }
    assert youxi["projection"] is None
    assert [a["severity"] for a in output["alerts"]] == sorted(
        (a["severity"] for a in output["alerts"]), key=SEVERITY_ORDER.__getitem__
    )
    # 三（六）4 (assisted persons' ratios) is checked by the claims audit now; 三（六）3's
    # out-of-pocket cap is not (no out-of-pocket totals).
    assert "assisted_preexisting_ratio" not in [r["rule_id"] for r in output["not_checked"]]
    assert "claims_paid_per_table" in {r.id for r in load_profile(SANMING).rules}
    tiers = [n for n in output["notices"] if n["topic"] == "out_of_pocket_cap_tier"]
    assert [n["figures"]["cap"] for n in tiers] == [120_000]
