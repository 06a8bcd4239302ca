"""The claims audit (contract §6): every cell of the benefit tables and their exceptions, computed
by hand, and a property: claims paid by the audit's own payable leave nothing to report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hmb.ingest.dataset import open_dataset
from hmb.measure.claims_audit import claims_audit
from hmb.rulebook.profiles import load_profile
from tests.builders import (
    Row,
    basic_insured_row,
    claim_row,
    enrollment_row,
    in_jurisdiction,
    run_cli,
    write_folder,
)


def _claim(claim_id: str, member: str, liability: str, served: str, eligible: float,  # noqa: PLR0917
           paid: float, status: str = "paid", **extra: Any) -> Row:
    return claim_row(
        member_id=member, claim_id=claim_id, liability=liability, service_date=served,
        report_date=served, settle_date=None if status == "pending" else served,
        eligible_amount=eligible, paid_amount=paid, status=status,
        total_cost=max(2 * eligible, 10_000.0), basic_paid=0.0, critical_paid=0.0, **extra,
    )


def _audit(tmp_path: Path, enrollment: list[Row], claims: list[Row],
           profile: str = "sanming-2024", as_of: str = "2024-12-31") -> Any:
    # In the rulebook's own jurisdiction: another's is refused (hmb.ingest.dataset).
    tables = in_jurisdiction({"basic_insured": [basic_insured_row("350402", 1000)],
                              "enrollment": enrollment, "claims": claims}, profile)
    folder = write_folder(tmp_path, **tables)
    result = run_cli("claims-audit", folder, "--profile", profile, "--as-of", as_of,
                     "--format", "json")
    assert result.code == 0, result.err
    return result.json()


def _mispaid(result: Any) -> dict[str, tuple[float, float, str]]:
    return {c["claim_id"]: (c["payable"], c["difference"], c["reason"]) for c in result["claims"]}


def test_several_claims_consume_one_annual_deductible_in_order_of_service(
    tmp_path: Path,
) -> None:
    """三明 责任一: 年免赔额 0.5万元, 100 % healthy. Served 03-01: 3,000 all deducted (2,000
    left); 04-01: (4,000 − 2,000) × 100 % = 2,000, paid 0 as if the deductible were per claim;
    05-01: 1,000 × 100 % = 1,000, paid so. Order is by service date, not by claim id."""
    result = _audit(tmp_path, [enrollment_row(member_id="A1")], [
        _claim("C9", "A1", "inpatient_in_area", "2024-03-01", 3000, 0),
        _claim("C1", "A1", "inpatient_in_area", "2024-04-01", 4000, 0),
        _claim("C5", "A1", "inpatient_in_area", "2024-05-01", 1000, 1000),
    ])
    assert _mispaid(result) == {"C1": (2000.0, -2000.0, "annual deductible")}
    whole = [r for r in result["summary"] if r["county_code"] is None]
    assert whole == [{"policy_year": 2024, "county_code": None, "claims_audited": 3,
                      "overpaid_count": 0, "overpaid_amount": 0.0, "underpaid_count": 1,
                      "underpaid_amount": 2000.0}]
    assert [r["county_code"] for r in result["summary"]] == ["350402", None]


def test_the_annual_cap_is_crossed_mid_claim(tmp_path: Path) -> None:
    """三明 责任三: 0.5万元 deductible, 70 %, 3万元 a year. (35,000 − 5,000) × 70 % = 21,000;
    then 20,000 × 70 % = 14,000 of which 9,000 is left under the cap; then nothing."""
    result = _audit(tmp_path, [enrollment_row(member_id="A1")], [
        _claim("K1", "A1", "outpatient_special_disease", "2024-03-01", 35000, 21000),
        _claim("K2", "A1", "outpatient_special_disease", "2024-04-01", 20000, 14000),
        _claim("K3", "A1", "outpatient_special_disease", "2024-05-01", 1000, 0),
    ])
    assert _mispaid(result) == {"K2": (9000.0, 5000.0, "annual cap")}


def test_a_denied_claim_that_was_payable_is_underpaid(tmp_path: Path) -> None:
    """三明 责任二: 2万元 deductible, 70 %: (30,000 − 20,000) × 70 % = 7,000 denied; a denial
    within the deductible (10,000) is right."""
    result = _audit(tmp_path, [enrollment_row(member_id="A1"), enrollment_row(member_id="A2")], [
        _claim("D1", "A1", "inpatient_out_of_area", "2024-03-01", 30000, 0, "denied"),
        _claim("D2", "A2", "inpatient_out_of_area", "2024-03-01", 10000, 0, "denied"),
    ])
    assert _mispaid(result) == {"D1": (7000.0, -7000.0, "denied but payable")}


def test_assisted_preexisting_members_are_paid_at_the_exception_ratios(tmp_path: Path) -> None:
    """三（六）4: an assisted (低保) pre-existing member gets 100 % under 责任一 and 80 % under
    责任二; a 五老 member is not read as 救助对象 (local reading) and gets 50 %; 责任三 does not
    cover pre-existing conditions (“/”)."""
    enrollment = [
        enrollment_row(member_id="P1", health_status="preexisting", subsidy_group="dibao"),
        enrollment_row(member_id="P2", health_status="preexisting", subsidy_group="wulao"),
        enrollment_row(member_id="P3", health_status="preexisting", subsidy_group="tekun"),
        enrollment_row(member_id="P4", health_status="preexisting"),
    ]
    result = _audit(tmp_path, enrollment, [
        # (15,000 − 5,000) × 100 % = 10,000, paid at the 50 % of the table's row
        _claim("E1", "P1", "inpatient_in_area", "2024-03-01", 15000, 5000),
        # (15,000 − 5,000) × 50 % = 5,000
        _claim("E2", "P2", "inpatient_in_area", "2024-03-01", 15000, 5000),
        # (30,000 − 20,000) × 80 % = 8,000
        _claim("E3", "P3", "inpatient_out_of_area", "2024-03-01", 30000, 8000),
        # not covered: paid (6,000 − 5,000) × 70 %
        _claim("E4", "P4", "outpatient_special_disease", "2024-03-01", 6000, 700),
    ])
    assert _mispaid(result) == {
        "E1": (10000.0, -5000.0, "ratio"),
        "E4": (0.0, 700.0, "ratio"),
    }


def test_payables_round_to_the_fen_half_up_in_decimal(tmp_path: Path) -> None:
    """(20,000.05 − 20,000) × 70 % = 0.035 → 0.04 (in DOUBLE 0.035 is 0.03499… and would round
    to 0.03); (5,000.01 − 5,000) × 50 % = 0.005 → 0.01."""
    enrollment = [enrollment_row(member_id="R1"), enrollment_row(member_id="R2"),
                  enrollment_row(member_id="R3", health_status="preexisting")]
    result = _audit(tmp_path, enrollment, [
        _claim("F1", "R1", "inpatient_out_of_area", "2024-03-01", 20000.05, 0.04),
        _claim("F2", "R2", "inpatient_out_of_area", "2024-03-01", 20000.05, 0.03),
        _claim("F3", "R3", "inpatient_in_area", "2024-03-01", 5000.01, 0.01),
    ])
    assert _mispaid(result) == {"F2": (0.04, -0.01, "ratio")}


def test_pending_and_later_claims_are_not_audited_and_take_no_deductible(tmp_path: Path) -> None:
    result = _audit(tmp_path, [enrollment_row(member_id="A1")], [
        _claim("G1", "A1", "inpatient_in_area", "2024-02-01", 5000, 0, "pending"),
        _claim("G2", "A1", "inpatient_in_area", "2024-03-01", 6000, 1000),
        _claim("G3", "A1", "inpatient_in_area", "2024-12-31", 9000, 9000),
    ], as_of="2024-06-30")
    assert result["claims"] == []
    assert result["summary"][-1]["claims_audited"] == 1


def test_nantong_per_admission_deductible_and_preexisting_self_pay(tmp_path: Path) -> None:
    """南通 三（二）1: 按次扣除8000元, 70 % on each admission; 三（二）2: 10种既往症人群 50 %;
    the cancer lump sum is not audited."""
    enrollment = [enrollment_row(member_id="N1"),
                  enrollment_row(member_id="N2", health_status="preexisting")]
    result = _audit(tmp_path, enrollment, [
        _claim("H1", "N1", "inpatient_copay", "2024-03-01", 10000, 1400),
        _claim("H2", "N1", "inpatient_copay", "2024-04-01", 10000, 1400),
        # (18,000 − 8,000) × 50 % = 5,000, paid at 70 %
        _claim("H3", "N2", "inpatient_self_pay", "2024-03-01", 18000, 7000),
        # (11,000 − 8,000) × 70 %: the copay clause has no pre-existing exception
        _claim("H4", "N2", "inpatient_copay", "2024-03-01", 11000, 2100),
        _claim("H5", "N1", "cancer_lump_sum", "2024-03-01", 10000, 10000),
    ], profile="nantong-2021")
    assert _mispaid(result) == {"H3": (5000.0, 2000.0, "ratio")}
    lump = [r for r in result["not_audited"] if r["liability"] == "cancer_lump_sum"]
    assert lump and lump[0]["claims"] == 1 and "5" in lump[0]["reason"]


def test_a_rulebook_without_a_table_audits_nothing_and_says_why(tmp_path: Path) -> None:
    result = _audit(tmp_path, [enrollment_row(member_id="A1")], [
        _claim("S1", "A1", "in_scope_copay", "2024-03-01", 30000, 10000),
    ], profile="shenyang-2021")
    assert result["claims"] == [] and result["summary"] == []
    listed = {r["liability"]: r for r in result["not_audited"]}
    assert listed["in_scope_copay"]["claims"] == 1
    assert "benefit table" in listed["in_scope_copay"]["reason"]


def test_the_arithmetic_is_written_out(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, basic_insured=[basic_insured_row("350402", 1000)],
                          enrollment=[enrollment_row(member_id="A1")],
                          claims=[_claim("W1", "A1", "inpatient_out_of_area", "2024-03-01",
                                         27000, 7000)])
    dataset = open_dataset(folder, load_profile("sanming-2024").liability_codes)
    with dataset.connect() as con:
        audit = claims_audit(con, load_profile("sanming-2024"), date(2024, 12, 31))
    (claim,) = audit.claims
    assert claim.arithmetic("zh") == (
        "可赔 = (合规费用 27,000 − 年免赔额剩余 20,000) × 70% = 4,900.00 元；"
        "实付 7,000.00 元，差额 +2,100.00 元"
    )
    assert claim.clause == "三（六）2"


LIABILITIES = ("inpatient_in_area", "inpatient_out_of_area", "outpatient_special_disease")


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(LIABILITIES), st.integers(1, 300),
              st.integers(0, 6_000_000)),
    min_size=1, max_size=25,
))
def test_claims_paid_by_the_audits_own_payable_leave_nothing_to_report(
    tmp_path_factory: Any, drawn: list[tuple[int, str, int, int]]
) -> None:
    profile = load_profile("sanming-2024")
    enrollment = [
        enrollment_row(member_id="Q0"),
        enrollment_row(member_id="Q1", health_status="preexisting"),
        enrollment_row(member_id="Q2", health_status="preexisting", subsidy_group="tekun"),
    ]
    claims = [
        _claim(f"P{n:03d}", f"Q{member}", liability, str(date.fromordinal(
            date(2024, 1, 1).toordinal() + day)), fen / 100, 0, "denied")
        for n, (member, liability, day, fen) in enumerate(drawn)
    ]
    root = tmp_path_factory.mktemp("audit")
    first = _payables(root, "first", enrollment, claims, profile)
    for claim in claims:
        payable = first[claim["claim_id"]]
        claim["paid_amount"] = float(payable)
        claim["status"] = "paid" if payable > 0 else "denied"
    assert _payables(root, "second", enrollment, claims, profile, mispaid=True) == {}


def _payables(root: Path, name: str, enrollment: list[Row], claims: list[Row], profile: Any,  # noqa: PLR0917
              mispaid: bool = False) -> dict[str, Decimal]:
    folder = write_folder(root, basic_insured=[basic_insured_row("350402", 1000)],
                          enrollment=enrollment, claims=claims, name=name)
    with open_dataset(folder, profile.liability_codes).connect() as con:
        audit = claims_audit(con, profile, date(2024, 12, 31))
    if mispaid:
        return {c.claim_id: c.difference for c in audit.claims}
    # Every claim was denied: each one's difference is minus its payable.
    return {c["claim_id"]: -next((m.difference for m in audit.claims
                                  if m.claim_id == c["claim_id"]), Decimal(0))
            for c in claims}
