"""The clauses checked since the rulebooks were read line by line: each new rule with a breaching
and a silent case (rows, an as-of date, the alerts, every figure worked out by hand), and the
acceptance of members insured outside the jurisdiction (三明 明政办规〔2023〕5号 三（二）).

The cases use the machinery of tests/test_rules.py (:class:`Case`, :class:`Expect`, the
``dataset`` fixture) and run through the real engine; that file's completeness test counts them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hmb.ingest.dataset import open_dataset
from hmb.rulebook.profiles import ProfileError, load_rulebook
from tests.builders import (
    Row,
    basic_insured_row,
    claim_row,
    enrollment_row,
    finance_row,
    metrics_json,
    participation_row,
    run_cli,
    write_folder,
)
from tests.test_rules import (
    CHONGCHUAN,
    FURONG,
    HUNAN,
    LONGWAN,
    LUCHENG,
    NANTONG,
    WENZHOU,
    YOUXI,
    Case,
    Cohort,
    Expect,
    OpenData,
    Tables,
    _fired,
    _order,
    dataset,  # the fixture that validates each case's rows once
    enrolment_tables,
    given,
    group,
    subsidy_tables,
    year,
)

__all__ = ["dataset"]

# --- rows ---------------------------------------------------------------------------------


def premium_tables(county: str, policy_year: int, cohorts: tuple[Cohort, ...]) -> Tables:
    """The cohorts' enrolments in one county, and a basic-insurance base of 1,000 there."""
    return enrolment_tables(cohorts, ((county, 1000, policy_year),))


# (liability, status, one_stop, in_area, service date, settle date) of one claim.
ClaimSpec = tuple[str, str, bool, bool, str, str]


def claims_tables(county: str, policy_year: int, specs: tuple[ClaimSpec, ...]) -> Tables:
    """One member enrolled (on 1 December before the year) for each claim, and the claims: a
    paid claim pays 1,000 of 3,000 eligible; a denied one pays nothing."""
    tables = enrolment_tables(
        (Cohort(len(specs), county, policy_year, paid_on=f"{policy_year - 1}-12-01"),),
        ((county, 1000, policy_year),),
    )
    claims: list[Row] = []
    for number, (member, spec) in enumerate(zip(tables["enrollment"], specs, strict=True)):
        liability, status, one_stop, in_area, served, settled = spec
        claims.append(claim_row(
            member_id=member["member_id"],
            claim_id=f"K{policy_year}{number:04d}",
            policy_year=policy_year,
            county_code=county,
            liability=liability,
            status=status,
            one_stop=one_stop,
            in_area=in_area,
            service_date=served,
            report_date=served,
            settle_date=settled,
            paid_amount=1000.0 if status == "paid" else 0.0,
        ))
    tables["claims"] = claims
    return tables


def paid(liability: str, one_stop: bool, *, in_area: bool = True, settled: str = "2021-09-20",
         status: str = "paid") -> ClaimSpec:
    return (liability, status, one_stop, in_area, "2021-09-01", settled)


def decided(served: str, status: str, policy_year: int = 2024) -> ClaimSpec:
    """An in-scope claim for care on ``served``, paid or denied a week later."""
    day = int(served[-2:])
    settled = f"{served[:-2]}{min(day + 7, 28):02d}"
    return ("in_scope_copay", status, True, True, served, settled)


# --- 温州 wenzhou-2021 ----------------------------------------------------------------------

# 三（三）3: 特困、低保、低边 enrolled with government funding. 鹿城 tekun 3 of 4, dibao 2 of 2;
# 龙湾 dibian 5 of 5, low-income farmers 1 of 2 (another rule's: not this one's).
POOR_SHORT = given(subsidy_tables, year=2021, entitled=(
    (LUCHENG, "tekun", 4, 3), (LUCHENG, "dibao", 2, 2),
    (LONGWAN, "dibian", 5, 5), (LONGWAN, "low_income_farmer", 2, 1),
))
POOR_ALL = given(subsidy_tables, year=2021, entitled=(
    (LUCHENG, "tekun", 4, 4), (LUCHENG, "dibao", 2, 2), (LONGWAN, "dibian", 5, 5),
))


# (county, group, members, subsidy per member, channel, status) of subsidised enrolments.
Funding = tuple[str, str, int, float, str, str]


def funding_tables(policy_year: int, rows: tuple[Funding, ...]) -> Tables:
    """Subsidised enrolments at 150 yuan, paid on 1 December before the year, each with its
    subsidy and channel; a base of 1,000 in each county."""
    counties = sorted({county for county, *_ in rows})
    enrolment = [
        enrollment_row(policy_year=policy_year, county_code=county, subsidy_group=group,
                       subsidy_amount=subsidy, channel=channel, status=status,
                       refund_amount=150.0 if status == "cancelled" else 0.0,
                       enroll_date=f"{policy_year - 1}-12-01")
        for county, group, count, subsidy, channel, status in rows
        for _ in range(count)
    ]
    return {"basic_insured": [basic_insured_row(c, 1000, policy_year=policy_year)
                              for c in counties],
            "enrollment": enrolment}


# 三（三）3: 所需经费由当地财政承担. 鹿城: tekun 3 paid by the treasury and 1 who paid himself
# (wechat); dibao 2 subsidised 100 of 150 (each paid 50); a cancelled tekun who paid himself
# does not count. 龙湾: dibian 2 paid by the treasury, a low-income farmer who paid himself
# (another rule's group).
FUNDING_SHORT = given(funding_tables, policy_year=2021, rows=(
    (LUCHENG, "tekun", 3, 150.0, "government", "active"),
    (LUCHENG, "tekun", 1, 0.0, "wechat", "active"),
    (LUCHENG, "tekun", 1, 0.0, "wechat", "cancelled"),
    (LUCHENG, "dibao", 2, 100.0, "government", "active"),
    (LONGWAN, "dibian", 2, 150.0, "government", "active"),
    (LONGWAN, "low_income_farmer", 1, 0.0, "bank", "active"),
))
FUNDING_ALL = given(funding_tables, policy_year=2021, rows=(
    (LUCHENG, "tekun", 3, 150.0, "government", "active"),
    (LUCHENG, "dibao", 2, 150.0, "government", "active"),
    (LONGWAN, "low_income_farmer", 1, 0.0, "bank", "active"),
))

# 二（二）: 保费与个人疾病风险脱钩. 2021: five healthy members at 150, two with pre-existing
# conditions at 180 and one healthy member (priced by age, say) at 160; a cancelled enrolment at
# 200 does not count (it is not a member).
WENZHOU_PRICES = given(premium_tables, county=LUCHENG, policy_year=2021, cohorts=(
    Cohort(5, LUCHENG, 2021, 150.0, "2020-12-01"),
    Cohort(2, LUCHENG, 2021, 180.0, "2020-12-01", health="preexisting"),
    Cohort(1, LUCHENG, 2021, 160.0, "2020-12-01"),
))
WENZHOU_ONE_PRICE = given(premium_tables, county=LUCHENG, policy_year=2021, cohorts=(
    Cohort(5, LUCHENG, 2021, 150.0, "2020-12-01"),
    Cohort(2, LUCHENG, 2021, 150.0, "2020-12-01", health="preexisting"),
    Cohort(1, LUCHENG, 2021, 200.0, "2020-12-01", status="cancelled"),
))

WENZHOU_CASES = [
    Case(
        "poor households: one of four destitute persons missing in 鹿城区",
        WENZHOU, POOR_SHORT, "2021-06-30", ("poor_households_enrolled",),
        # tekun 3/4 = 0.75 < 1, 4 − 3 = 1 missing; dibao 2/2 and dibian 5/5 are whole; the
        # farmers' 1/2 belongs to low_income_farmers_enrolled.
        (Expect("poor_households_enrolled", "critical", group(2021, LUCHENG, "tekun"),
                0.75, 1.0, -0.25, details={"shortfall_people": 1},
                says_zh=("鹿城区（330302）", "特困供养人员", "尚有 1 人未参保")),),
    ),
    Case(
        "poor households: all enrolled is silent",
        WENZHOU, POOR_ALL, "2021-06-30", ("poor_households_enrolled",),
    ),
    Case(
        "poor households funded: one destitute person and two on minimum allowance paid",
        WENZHOU, FUNDING_SHORT, "2021-06-30", ("poor_households_government_funded",),
        # tekun: 1 not funded (paid 150 himself); dibao: 2 not funded (2 × (150 − 100) = 100).
        (
            Expect("poor_households_government_funded", "critical",
                   group(2021, LUCHENG, "dibao"), 2, 0, 2, "count",
                   details={"enrolled": 2, "self_paid": 100.0, "channels": ["government"]},
                   says_zh=("参保 2 人中 2 人的保费未由财政全额承担", "个人负担 100.00 元")),
            Expect("poor_households_government_funded", "critical",
                   group(2021, LUCHENG, "tekun"), 1, 0, 1, "count",
                   details={"enrolled": 4, "self_paid": 150.0, "channels": ["wechat"]},
                   says_zh=("参保 4 人中 1 人", "缴费渠道：微信")),
        ),
    ),
    Case(
        "poor households funded: the treasury paid every premium (a farmer aside) is silent",
        WENZHOU, FUNDING_ALL, "2021-06-30", ("poor_households_government_funded",),
    ),
    Case(
        "one price: three members charged by health or otherwise",
        WENZHOU, WENZHOU_PRICES, "2021-06-30", ("one_price",),
        # The usual premium is 150 (5 members); 2 at 180 (pre-existing) + 1 at 160 = 3 > 0.
        (Expect("one_price", "critical", year(2021), 3, 0, 3, "count",
                details={"usual_premium": 150.0, "other_premium_enrolments": 3,
                         "other_premiums": {"healthy": [160.0], "preexisting": [180.0]}},
                says_zh=("多数参保人保费 150 元", "另有 3 人", "既往症人群 180 元",
                         "健康人群 160 元")),),
    ),
    Case(
        "one price: one premium for all members (a cancelled policy aside) is silent",
        WENZHOU, WENZHOU_ONE_PRICE, "2021-06-30", ("one_price",),
    ),
]

# --- 南通 nantong-2021 ----------------------------------------------------------------------

# 二（六）: discharges settled one-stop. Ten paid inpatient claims (copay and self-pay), two of
# them not one-stop (one for care out of the area). Not counted: a cancer lump sum and a
# specified drug not one-stop (other liabilities), a denied copay claim not one-stop, and a
# copay claim not one-stop paid after the as-of date.
NANTONG_SETTLEMENTS = given(claims_tables, county=CHONGCHUAN, policy_year=2021, specs=(
    *(paid("inpatient_copay", True) for _ in range(5)),
    *(paid("inpatient_self_pay", True) for _ in range(3)),
    paid("inpatient_copay", False),
    paid("inpatient_self_pay", False, in_area=False),
    paid("cancer_lump_sum", False),
    paid("special_cancer_drugs", False),
    paid("inpatient_copay", False, status="denied"),
    paid("inpatient_copay", False, settled="2021-12-20"),
))
# Ten paid inpatient claims, one not one-stop: 10 % exactly; the lump sums are not counted.
NANTONG_SETTLEMENTS_10 = given(claims_tables, county=CHONGCHUAN, policy_year=2021, specs=(
    *(paid("inpatient_copay", True) for _ in range(9)),
    paid("inpatient_self_pay", False),
    *(paid("cancer_lump_sum", False) for _ in range(4)),
))

NANTONG_CASES = [
    Case(
        "one-stop settlement: 2 of 10 paid inpatient claims settled otherwise",
        NANTONG, NANTONG_SETTLEMENTS, "2021-11-30", ("one_stop_settlement",),
        # 2/10 = 0.20 > 0.10: warning, 10 points over.
        (Expect("one_stop_settlement", "warning", year(2021), 0.2, 0.10, 0.10,
                details={"paid_claims": 10, "not_one_stop": 2, "not_one_stop_out_of_area": 1,
                         "claims_not_one_stop": 2,
                         "liabilities": ["inpatient_copay", "inpatient_self_pay"]},
                says_zh=("已赔付 10 件中 2 件未经一站式结算", "统筹区外就医 1 件")),),
    ),
    Case(
        "one-stop settlement: 1 of 10 (10 % exactly), lump sums aside, is silent",
        NANTONG, NANTONG_SETTLEMENTS_10, "2021-11-30", ("one_stop_settlement",),
    ),
]

# --- 湖南 hunan-2024 ------------------------------------------------------------------------

# 三: 统一保费价格. Four members at 129 and one at 150 in 2024.
HUNAN_PRICES = given(premium_tables, county=FURONG, policy_year=2024, cohorts=(
    Cohort(4, FURONG, 2024, 129.0), Cohort(1, FURONG, 2024, 150.0),
))
HUNAN_ONE_PRICE = given(premium_tables, county=FURONG, policy_year=2024, cohorts=(
    Cohort(4, FURONG, 2024, 129.0), Cohort(2, FURONG, 2024, 129.0, health="preexisting"),
))


def hunan_paid(one_stop: bool, liability: str = "in_scope_copay") -> ClaimSpec:
    return (liability, "paid", one_stop, True, "2024-05-02", "2024-05-20")


# 三: "一站式"即时结算. Five paid claims, two settled otherwise: 40 %.
HUNAN_SETTLEMENTS = given(claims_tables, county=FURONG, policy_year=2024, specs=(
    *(hunan_paid(True) for _ in range(2)),
    hunan_paid(True, "out_of_scope"),
    hunan_paid(False),
    hunan_paid(False, "out_of_scope"),
))
# Five paid claims, one settled otherwise: 20 % exactly.
HUNAN_SETTLEMENTS_20 = given(claims_tables, county=FURONG, policy_year=2024, specs=(
    *(hunan_paid(True) for _ in range(4)),
    hunan_paid(False, "out_of_scope"),
))

# 三: 无等待期. Early care is before 2024-01-01 + 90 days = 2024-03-31.
# 20 early claims (care on 2024-03-02), 4 denied: 0.20; 20 later (2024-06-02), 1 denied: 0.05;
# plus a pending early claim and an early claim denied after the as-of date, not decided yet.
WAITING = given(claims_tables, county=FURONG, policy_year=2024, specs=(
    *(decided("2024-03-02", "denied") for _ in range(4)),
    *(decided("2024-03-02", "paid") for _ in range(16)),
    decided("2024-06-02", "denied"),
    *(decided("2024-06-02", "paid") for _ in range(19)),
    ("in_scope_copay", "pending", True, True, "2024-03-30", None),
    ("in_scope_copay", "denied", True, True, "2024-03-30", "2024-07-20"),
))
# 20 early claims, 2 denied: 0.10; 20 later, 1 denied: 0.05; the gap is 5 points exactly.
NO_WAITING = given(claims_tables, county=FURONG, policy_year=2024, specs=(
    *(decided("2024-03-30", "denied") for _ in range(2)),
    *(decided("2024-03-02", "paid") for _ in range(18)),
    decided("2024-03-31", "denied"),  # day 91: later care
    *(decided("2024-06-02", "paid") for _ in range(19)),
))
# 19 early claims, all denied: too few to compare (MIN_EARLY_CLAIMS = 20).
FEW_EARLY = given(claims_tables, county=FURONG, policy_year=2024, specs=(
    *(decided("2024-01-10", "denied") for _ in range(19)),
    *(decided("2024-06-02", "paid") for _ in range(20)),
))

HUNAN_CASES = [
    Case(
        "one province price: one member at 150 beside four at 129",
        HUNAN, HUNAN_PRICES, "2024-06-30", ("one_province_price",),
        (Expect("one_province_price", "critical", year(2024), 1, 0, 1, "count",
                details={"usual_premium": 129.0, "other_premiums": {"healthy": [150.0]}},
                says_zh=("多数参保人保费 129 元", "健康人群 150 元")),),
    ),
    Case(
        "one province price: the same 129 for the healthy and the pre-existing is silent",
        HUNAN, HUNAN_ONE_PRICE, "2024-06-30", ("one_province_price",),
    ),
    Case(
        "one-stop settlement: 2 of 5 paid claims settled otherwise",
        HUNAN, HUNAN_SETTLEMENTS, "2024-06-30", ("one_stop_settlement",),
        # 2/5 = 0.40 > 0.20: warning (no critical level), 20 points over.
        (Expect("one_stop_settlement", "warning", year(2024), 0.4, 0.20, 0.20,
                details={"paid_claims": 5, "not_one_stop": 2, "not_one_stop_out_of_area": 0},
                says_zh=("已赔付 5 件中 2 件未经一站式结算",)),),
    ),
    Case(
        "one-stop settlement: 1 of 5 (20 % exactly) is silent",
        HUNAN, HUNAN_SETTLEMENTS_20, "2024-06-30", ("one_stop_settlement",),
    ),
    Case(
        "no waiting period: early care denied 20 % against 5 % later",
        HUNAN, WAITING, "2024-06-30", ("no_waiting_period",),
        # 4/20 − 1/20 = 0.20 − 0.05 = 0.15 > 0.05: warning, 10 points over.
        (Expect("no_waiting_period", "warning", year(2024), 0.15, 0.05, 0.10,
                details={"early_decided": 20, "early_denied": 4, "later_decided": 20,
                         "later_denied": 1},
                says_zh=("前 90 天就医的赔案拒赔 4/20", "其后 1/20", "仅为推断")),),
    ),
    Case(
        "no waiting period: a gap of 5 points exactly is silent",
        HUNAN, NO_WAITING, "2024-06-30", ("no_waiting_period",),
    ),
    Case(
        "no waiting period: 19 early claims are too few to judge",
        HUNAN, FEW_EARLY, "2024-06-30", ("no_waiting_period",),
    ),
]

CLAUSE_CASES = WENZHOU_CASES + NANTONG_CASES + HUNAN_CASES


@pytest.mark.parametrize("case", CLAUSE_CASES, ids=[c.name for c in CLAUSE_CASES])
def test_clause_rule(case: Case, dataset: OpenData) -> None:
    alerts = _fired(case, dataset)
    expected = sorted(case.expected, key=lambda e: _order(e.severity, e.rule, e.scope))
    assert [(a.rule_id, a.severity, a.scope) for a in alerts] == [
        (e.rule, e.severity, e.scope) for e in expected
    ]
    for alert, want in zip(alerts, expected, strict=True):
        assert alert.observed == pytest.approx(want.observed, abs=1e-9)
        assert alert.threshold == pytest.approx(want.threshold, abs=1e-12)
        gap = want.gap * 100 if want.gap_unit == "pp" else want.gap
        assert alert.gap == pytest.approx(gap, abs=1e-7)
        assert alert.gap_unit == want.gap_unit
        for key, value in want.details.items():
            assert alert.details.get(key) == value, key
        for fragment in want.says_zh:
            assert fragment in alert.message_zh, (fragment, alert.message_zh)
        assert alert.message_en  # bilingual


def test_one_stop_and_waiting_period_thresholds_are_local() -> None:
    """Neither document sets a share of one-stop settlement or a waiting-period window: the
    thresholds say they are local; one price (the documents' own "one premium") does not."""
    from hmb.rulebook.profiles import load_profile  # noqa: PLC0415

    for name, rule_id, local in (
        (NANTONG, "one_stop_settlement", True),
        (HUNAN, "one_stop_settlement", True),
        (HUNAN, "no_waiting_period", True),
        (HUNAN, "one_province_price", False),
        (WENZHOU, "one_price", False),
        (WENZHOU, "poor_households_enrolled", False),
    ):
        (rule,) = [r for r in load_profile(name).rules if r.id == rule_id]
        assert rule.citation.local is local, (name, rule_id)


def test_liabilities_of_a_rule_are_the_rulebooks_own(tmp_path: Path) -> None:
    text = (Path(__file__).parents[1] / "data" / "rulebooks" / "nantong-2021.toml").read_text(
        encoding="utf-8")
    wrong = tmp_path / "nantong-local.toml"
    wrong.write_text(
        text.replace('name = "nantong-2021"', 'name = "nantong-local"').replace(
            'liabilities = ["inpatient_copay", "inpatient_self_pay"]',
            'liabilities = ["inpatient_copay", "inpatient_self_paid"]'),
        encoding="utf-8")
    with pytest.raises(ProfileError, match="inpatient_self_paid"):
        load_rulebook(wrong)


# --- 三明 三（二）: members insured outside the city --------------------------------------------

FUZHOU_GULOU = "350102"  # a county of 福州, outside 三明
JIANGLE = "350428"  # a county of 三明 with no basic-insurance row in the folder


def insured_elsewhere_folder(root: Path) -> Path:
    """三明 2024: 尤溪 base 100 with 20 members; 3 members insured in 福州 鼓楼区, one of whom
    is paid a claim of 1,000; one member in 将乐 (a 三明 county missing from basic_insured) and
    one under 350499 (no such county): those two are always errors. One insurer, no expenses."""
    elsewhere = [enrollment_row(member_id=f"E{i}", county_code=FUZHOU_GULOU) for i in range(3)]
    return write_folder(
        root,
        basic_insured=[basic_insured_row(YOUXI, 100)],
        enrollment=[
            *(enrollment_row(county_code=YOUXI) for _ in range(20)),
            *elsewhere,
            enrollment_row(member_id="J1", county_code=JIANGLE),
            enrollment_row(member_id="X1", county_code="350499"),
        ],
        claims=[claim_row(member_id="E0", county_code=FUZHOU_GULOU)],
        insurers=[{"policy_year": 2024, "insurer_id": "I1", "insurer_name": "I1 保险",
                   "role": "lead", "share": 1.0}],
    )


def test_sanming_accepts_members_insured_elsewhere_into_finance_only(tmp_path: Path) -> None:
    folder = insured_elsewhere_folder(tmp_path)
    result = metrics_json(folder, "sanming-2024", as_of="2024-12-31")
    # Participation: 尤溪 20/100 and the city 20/100: the three of 鼓楼区 count nowhere.
    assert participation_row(result, 2024, YOUXI)["enrolled"] == 20
    city = participation_row(result, 2024, None)
    assert (city["enrolled"], city["insured_base"], city["rate"]) == (20, 100, 0.2)
    assert {r["county_code"] for r in result["participation"]} == {YOUXI, None}
    # Finance: (20 + 3) × 150 = 3,450 written and, the year over, earned; their claim 1,000.
    row = finance_row(result, 2024)
    assert row["written_premium"] == 3450.0
    assert row["earned_premium"] == 3450.0
    assert row["claims_paid"] == 1000.0
    assert row["profit"] == 2450.0


def test_a_rulebook_that_does_not_accept_them_quarantines_them(tmp_path: Path) -> None:
    folder = insured_elsewhere_folder(tmp_path)
    accepted = open_dataset(folder, None, tmp_path / "cache", insured_elsewhere="350400")
    refused = open_dataset(folder, None, tmp_path / "cache")
    errors = {(e["table"], e["rule"]): e["rows"] for e in accepted.report["errors"]}
    # 将乐 (a 三明 county not in basic_insured) and 350499 (no county) stay errors.
    assert errors == {("enrollment", "unknown_county"): 2}
    errors = {(e["table"], e["rule"]): e["rows"] for e in refused.report["errors"]}
    assert errors == {("enrollment", "unknown_county"): 5,
                      ("claims", "claim_without_enrollment"): 1}
    # The same folder under the two acceptances: two stores, never one reused for the other.
    assert accepted.store != refused.store
    again = open_dataset(folder, None, tmp_path / "cache", insured_elsewhere="350400")
    assert again.store == accepted.store


def test_the_command_line_validates_with_the_profiles_acceptance(tmp_path: Path) -> None:
    folder = insured_elsewhere_folder(tmp_path)
    sanming = run_cli("validate", folder, "--profile", "sanming-2024", "--format", "json",
                      "--quarantine-dir", tmp_path / "q1")
    # Without a rulebook nothing allows them (another jurisdiction's rulebook is refused).
    other = run_cli("validate", folder, "--format", "json",
                    "--quarantine-dir", tmp_path / "q2")
    assert sanming.code == 0 and other.code == 0, (sanming.err, other.err)
    assert sanming.json()["tables"]["enrollment"]["rows_quarantined"] == 2
    assert other.json()["tables"]["enrollment"]["rows_quarantined"] == 5
