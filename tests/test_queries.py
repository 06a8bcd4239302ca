"""The dashboard breakdown queries, pinned down on one golden folder worked out by hand.

One folder serves every query; the as-of date is 2024-06-30 unless a test says otherwise. Money
is compared as Decimal, to the fen (amounts such as 0.10 + 0.20 would drift as floats); the
settlement-speed quantiles are compared to 1e-9.

The golden claims of 2024 (report → settle, days, paid yuan, one-stop):

    id   county  liability           reported    settled     days  paid          one-stop
    P01  350402  inpatient_in_area   2024-01-10  2024-01-13     3      999.99    yes
    P02  350402  inpatient_in_area   2024-01-10  2024-01-17     7    1 000.00    yes
    P03  350402  inpatient_in_area   2024-01-20  2024-01-28     8        0.10    yes
    P04  350402  special_drug        2024-01-25  2024-02-09    15        0.20    no
    P05  350402  special_drug        2024-02-01  2024-02-17    16    4 999.99    no
    P06  350402  inpatient_in_area   2024-02-01  2024-03-02    30    5 000.00    yes
    P07  350403  inpatient_in_area   2024-02-15  2024-03-17    31   10 000.00    yes
    P08  350403  inpatient_out_area  2024-03-01  2024-04-30    60   49 999.99    no
    P09  350403  inpatient_out_area  2024-03-01  2024-05-01    61  100 000.00    yes
    P10  350403  inpatient_in_area   2024-03-10  2024-06-08    90  500 000.00    yes
    P11  350403  inpatient_in_area   2024-03-31  2024-06-30    91   12 345.67    yes  (on as-of)

and the ones that are not paid on 2024-06-30:

    N01  350402  inpatient_in_area   reported 2024-04-01, pending (no settle date)
    N02  350403  special_drug        reported 2024-06-20, paid 777.77 on 2024-07-05 (after as-of)
    N03  350402  inpatient_in_area   reported 2024-05-10, denied 2024-05-20
    N04  350403  inpatient_out_area  reported 2024-06-25, denied 2024-07-10 (after as-of)
    N05  350402  inpatient_in_area   reported 2024-07-02 (after as-of), pending
    N06  350404  inpatient_in_area   reported 2024-07-03 (after as-of), paid 300 on 2024-07-20
    BAD  350402  inpatient_in_area   settled 2024-02-05 before its report 2024-02-10: quarantined

2023 has one claim, Q01: 350402, inpatient_in_area, reported 2023-05-02, paid 2 500.50 on
2023-05-12 (10 days), not one-stop. 2022 has one claim, Z01: 350402, inpatient_in_area, denied.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import queries
from hmb.ingest.dataset import open_dataset
from tests.builders import (
    Row,
    basic_insured_row,
    claim_row,
    enrollment_row,
    expense_row,
    insurer_row,
    write_folder,
)

AS_OF = date(2024, 6, 30)
LAG_BUCKETS = ["0–7天", "8–15天", "16–30天", "31–60天", "61–90天", "90天以上"]
SIZE_BUCKETS = ["<1千", "1千–5千", "5千–1万", "1万–5万", "5万–10万", "10万–50万", "≥50万"]


def yuan(text: str) -> Decimal:
    return Decimal(text)


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def claim(
    claim_id: str,
    county: str,
    liability: str,
    reported: str,
    settled: str | None,
    *,
    paid: float,
    status: str = "paid",
    one_stop: bool = True,
    eligible: float | None = None,
    member_id: str = "A1",
) -> Row:
    """A claim served on the day it was reported, in a large episode that raises no warning."""
    return claim_row(
        member_id=member_id,
        claim_id=claim_id,
        policy_year=int(reported[:4]),
        county_code=county,
        liability=liability,
        service_date=reported,
        report_date=reported,
        settle_date=settled,
        total_cost=1_000_000.0,
        basic_paid=0.0,
        critical_paid=0.0,
        eligible_amount=paid if eligible is None else eligible,
        paid_amount=paid,
        status=status,
        one_stop=one_stop,
    )


IN, DRUG, OUT = "inpatient_in_area", "special_drug", "inpatient_out_area"


def golden_folder(root: Path) -> Path:
    """The claims above, plus enrolments, insurers and expenses (see each test's arithmetic)."""
    return write_folder(
        root,
        basic_insured=[
            basic_insured_row("350402", 100),
            basic_insured_row("350403", 50),
            basic_insured_row("350404", 30),
            basic_insured_row("350402", 100, policy_year=2023),
            basic_insured_row("350402", 100, policy_year=2022),
        ],
        enrollment=[
            enrollment_row(member_id="A1", enroll_date="2023-12-01"),
            enrollment_row(member_id="A2", enroll_date="2024-06-30"),
            enrollment_row(member_id="A3", status="cancelled", refund_amount=100.55),
            enrollment_row(member_id="A4", enroll_date="2024-07-01"),
            enrollment_row(member_id="B1", county_code="350403", premium=150.10),
            enrollment_row(member_id="B2", county_code="350403", premium=150.20),
            enrollment_row(member_id="B3", county_code="350403", status="cancelled",
                           refund_amount=150.0),
            enrollment_row(member_id="C1", county_code="350404", enroll_date="2024-07-15"),
            enrollment_row(member_id="X1", policy_year=2023, enroll_date="2022-12-01"),
            enrollment_row(member_id="Z1", policy_year=2022, enroll_date="2021-12-01"),
        ],
        claims=[
            claim("P01", "350402", IN, "2024-01-10", "2024-01-13", paid=999.99),
            claim("P02", "350402", IN, "2024-01-10", "2024-01-17", paid=1000.00),
            claim("P03", "350402", IN, "2024-01-20", "2024-01-28", paid=0.10),
            claim("P04", "350402", DRUG, "2024-01-25", "2024-02-09", paid=0.20, one_stop=False,
                  eligible=0.30),
            claim("P05", "350402", DRUG, "2024-02-01", "2024-02-17", paid=4999.99, one_stop=False,
                  eligible=6000.00),
            claim("P06", "350402", IN, "2024-02-01", "2024-03-02", paid=5000.00),
            claim("P07", "350403", IN, "2024-02-15", "2024-03-17", paid=10000.00),
            claim("P08", "350403", OUT, "2024-03-01", "2024-04-30", paid=49999.99, one_stop=False,
                  eligible=60000.00),
            claim("P09", "350403", OUT, "2024-03-01", "2024-05-01", paid=100000.00,
                  eligible=120000.00),
            claim("P10", "350403", IN, "2024-03-10", "2024-06-08", paid=500000.00),
            claim("P11", "350403", IN, "2024-03-31", "2024-06-30", paid=12345.67),
            claim("N01", "350402", IN, "2024-04-01", None, paid=0.0, status="pending"),
            claim("N02", "350403", DRUG, "2024-06-20", "2024-07-05", paid=777.77, eligible=1000.00),
            claim("N03", "350402", IN, "2024-05-10", "2024-05-20", paid=0.0, status="denied",
                  eligible=800.00),
            claim("N04", "350403", OUT, "2024-06-25", "2024-07-10", paid=0.0, status="denied",
                  eligible=5000.00),
            claim("N05", "350402", IN, "2024-07-02", None, paid=0.0, status="pending"),
            claim("N06", "350404", IN, "2024-07-03", "2024-07-20", paid=300.00),
            claim("BAD", "350402", IN, "2024-02-10", "2024-02-05", paid=9999.00),
            claim("Q01", "350402", IN, "2023-05-02", "2023-05-12", paid=2500.50, one_stop=False,
                  member_id="X1"),
            claim("Z01", "350402", IN, "2022-05-02", "2022-05-20", paid=0.0, status="denied",
                  member_id="Z1"),
        ],
        insurers=[
            insurer_row("I1", 0.6, role="lead"),
            insurer_row("I2", 0.4),
            insurer_row("I1", 1.0, role="lead", policy_year=2023),
        ],
        expenses=[
            expense_row("I1", 100.10, category="operations"),
            expense_row("I1", 200.20, category="operations"),
            expense_row("I1", 50.00, category="it"),
            expense_row("I2", 80.05, category="promotion"),
            expense_row("I9", 10.00, category="other"),
            expense_row("I1", 40.00, category="staff", policy_year=2023),
        ],
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("queries")
    dataset = open_dataset(golden_folder(root), cache_dir=root / "cache")
    # BAD is the only row caught by validation.
    assert dataset.report["tables"]["claims"]["rows_quarantined"] == 1
    with dataset.connect() as con:
        yield con


def run(con: Any, name: str, **params: Any) -> list[dict[str, Any]]:
    frame: pl.DataFrame = queries.run(con, name, **params)
    return frame.to_dicts()


def pick(rows: list[dict[str, Any]], **where: Any) -> dict[str, Any]:
    hits = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(hits) == 1, f"expected one row where {where}, got {hits}"
    return hits[0]


def columns(con: Any, name: str, **params: Any) -> list[str]:
    return queries.run(con, name, **params).columns


# --- written premium by county ----------------------------------------------------------------


def test_written_premium_by_county(store: Any) -> None:
    rows = run(store, "written_premium_by_county", as_of=AS_OF)
    assert columns(store, "written_premium_by_county", as_of=AS_OF) == [
        "policy_year", "county_code", "written_premium", "members"]
    # 350402: A1 150 + A2 150 (paid on the as-of day) + A3 cancelled 150 − 100.55 = 349.45;
    # A4 (paid 2024-07-01) is not written yet. Members: A1, A2 (A3 is cancelled).
    assert pick(rows, policy_year=2024, county_code="350402") == {
        "policy_year": 2024, "county_code": "350402",
        "written_premium": yuan("349.45"), "members": 2}
    # 350403: 150.10 + 150.20 + B3 fully refunded 0 = 300.30; members B1, B2.
    assert pick(rows, policy_year=2024, county_code="350403")["written_premium"] == yuan("300.30")
    assert pick(rows, policy_year=2024, county_code="350403")["members"] == 2
    # 350404's only enrolment (C1) is paid 2024-07-15, after the as-of date: no row.
    assert [(r["policy_year"], r["county_code"]) for r in rows] == [
        (2022, "350402"), (2023, "350402"), (2024, "350402"), (2024, "350403")]


def test_written_premium_by_county_on_an_earlier_as_of_date(store: Any) -> None:
    rows = run(store, "written_premium_by_county", as_of=date(2024, 6, 29))
    # A2 paid on 06-30 is one day too late: 350402 = 150 + 49.45, members A1 only.
    row = pick(rows, policy_year=2024, county_code="350402")
    assert (row["written_premium"], row["members"]) == (yuan("199.45"), 1)


def test_county_written_premium_sums_to_the_jurisdiction(store: Any) -> None:
    by_county = run(store, "written_premium_by_county", as_of=AS_OF)
    whole = {r["policy_year"]: r["written_premium"] for r in
             run(store, "written_premium", as_of=AS_OF)}
    # 2024: 349.45 + 300.30 = 649.75; 2023 and 2022: one 150 each.
    assert whole == {2022: yuan("150.00"), 2023: yuan("150.00"), 2024: yuan("649.75")}
    for year, total in whole.items():
        assert sum(r["written_premium"] for r in by_county if r["policy_year"] == year) == total


# --- claims by month --------------------------------------------------------------------------


def test_claims_by_month(store: Any) -> None:
    rows = run(store, "claims_by_month", as_of=AS_OF)
    assert columns(store, "claims_by_month", as_of=AS_OF) == [
        "policy_year", "settle_month", "claims_paid", "paid_claims"]
    assert [(r["policy_year"], r["settle_month"], r["claims_paid"], r["paid_claims"])
            for r in rows] == [
        (2023, date(2023, 5, 1), yuan("2500.50"), 1),  # Q01
        (2024, date(2024, 1, 1), yuan("2000.09"), 3),  # 999.99 + 1000.00 + 0.10
        (2024, date(2024, 2, 1), yuan("5000.19"), 2),  # 0.20 + 4999.99 (BAD is quarantined)
        (2024, date(2024, 3, 1), yuan("15000.00"), 2),  # 5000 + 10000
        (2024, date(2024, 4, 1), yuan("49999.99"), 1),
        (2024, date(2024, 5, 1), yuan("100000.00"), 1),
        (2024, date(2024, 6, 1), yuan("512345.67"), 2),  # 500000 + 12345.67 (on as-of)
        # No July: N02 (07-05) and N06 (07-20) are settled after the as-of date.
    ]


def test_claims_by_month_on_an_earlier_as_of_date(store: Any) -> None:
    rows = run(store, "claims_by_month", as_of=date(2024, 2, 9))
    # Up to 02-09: January as before, and P04 (0.20) settled on 02-09 itself.
    assert [(r["settle_month"], r["claims_paid"]) for r in rows if r["policy_year"] == 2024] == [
        (date(2024, 1, 1), yuan("2000.09")), (date(2024, 2, 1), yuan("0.20"))]


def test_months_sum_to_claims_paid(store: Any) -> None:
    months = run(store, "claims_by_month", as_of=AS_OF)
    whole = {r["policy_year"]: r["claims_paid"] for r in run(store, "claims_paid", as_of=AS_OF)}
    # 2000.09 + 5000.19 + 15000 + 49999.99 + 100000 + 512345.67 = 684345.94
    assert whole[2024] == yuan("684345.94")
    for year, total in whole.items():
        assert sum((r["claims_paid"] for r in months if r["policy_year"] == year),
                   Decimal(0)) == total


# --- claims by liability ----------------------------------------------------------------------


def test_claims_by_liability(store: Any) -> None:
    rows = run(store, "claims_by_liability", as_of=AS_OF)
    assert columns(store, "claims_by_liability", as_of=AS_OF) == [
        "policy_year", "liability", "claims", "paid_claims", "claims_paid", "eligible_amount",
        "pending"]
    # inpatient_in_area 2024: P01 P02 P03 P06 P07 P10 P11 paid, N01 pending, N03 denied = 9;
    # N05 and N06 are reported after the as-of date, BAD is quarantined.
    # paid: 999.99 + 1000 + 0.10 + 5000 + 10000 + 500000 + 12345.67 = 529345.76; eligible is
    # the paid amount for these (N03's 800 is denied and does not count).
    assert pick(rows, policy_year=2024, liability=IN) == {
        "policy_year": 2024, "liability": IN, "claims": 9, "paid_claims": 7,
        "claims_paid": yuan("529345.76"), "eligible_amount": yuan("529345.76"), "pending": 1}
    # special_drug: P04, P05 paid (0.20 + 4999.99; eligible 0.30 + 6000.00); N02 is paid only
    # on 07-05, so on the as-of date it is pending and its 777.77 / 1000 do not count.
    assert pick(rows, policy_year=2024, liability=DRUG) == {
        "policy_year": 2024, "liability": DRUG, "claims": 3, "paid_claims": 2,
        "claims_paid": yuan("5000.19"), "eligible_amount": yuan("6000.30"), "pending": 1}
    # inpatient_out_area: P08, P09 paid (49999.99 + 100000; eligible 60000 + 120000); N04 is
    # denied on 07-10, after the as-of date, so it was still pending then.
    assert pick(rows, policy_year=2024, liability=OUT) == {
        "policy_year": 2024, "liability": OUT, "claims": 3, "paid_claims": 2,
        "claims_paid": yuan("149999.99"), "eligible_amount": yuan("180000.00"), "pending": 1}
    # 2022: one denied claim: known, not paid, not pending.
    assert pick(rows, policy_year=2022, liability=IN) == {
        "policy_year": 2022, "liability": IN, "claims": 1, "paid_claims": 0,
        "claims_paid": yuan("0.00"), "eligible_amount": yuan("0.00"), "pending": 0}


def test_claims_by_liability_after_everything_is_settled(store: Any) -> None:
    rows = run(store, "claims_by_liability", as_of=date(2024, 12, 31))
    # Now N02 is paid (5000.19 + 777.77 = 5777.96), N04 is denied, and N05 (pending) and N06
    # (paid 300) are known: in-area has 11 claims, 8 paid, N01 and N05 pending.
    drug = pick(rows, policy_year=2024, liability=DRUG)
    assert (drug["paid_claims"], drug["claims_paid"], drug["pending"]) == (3, yuan("5777.96"), 0)
    assert pick(rows, policy_year=2024, liability=OUT)["pending"] == 0
    inpatient = pick(rows, policy_year=2024, liability=IN)
    assert (inpatient["claims"], inpatient["paid_claims"], inpatient["pending"]) == (11, 8, 2)


# --- claims by county -------------------------------------------------------------------------


def test_claims_by_county(store: Any) -> None:
    rows = run(store, "claims_by_county", as_of=AS_OF)
    assert columns(store, "claims_by_county", as_of=AS_OF) == [
        "policy_year", "county_code", "paid_claims", "claims_paid"]
    assert [(r["policy_year"], r["county_code"], r["paid_claims"], r["claims_paid"])
            for r in rows] == [
        (2022, "350402", 0, yuan("0.00")),  # Z01 denied
        (2023, "350402", 1, yuan("2500.50")),
        # P01–P06: 999.99 + 1000 + 0.10 + 0.20 + 4999.99 + 5000 = 12000.28
        (2024, "350402", 6, yuan("12000.28")),
        # P07–P11: 10000 + 49999.99 + 100000 + 500000 + 12345.67 = 672345.66
        (2024, "350403", 5, yuan("672345.66")),
        # 350404's only claim, N06, is reported after the as-of date: no row.
    ]


def test_county_claims_sum_to_the_jurisdiction(store: Any) -> None:
    for as_of in (date(2024, 3, 31), AS_OF, date(2024, 12, 31)):
        by_county = run(store, "claims_by_county", as_of=as_of)
        whole = run(store, "claims_paid", as_of=as_of)
        for row in whole:
            year = row["policy_year"]
            assert sum((r["claims_paid"] for r in by_county if r["policy_year"] == year),
                       Decimal(0)) == row["claims_paid"], (as_of, year)
    # 12000.28 + 672345.66 = 684345.94
    assert pick(run(store, "claims_paid", as_of=AS_OF), policy_year=2024)["claims_paid"] == \
        yuan("684345.94")


# --- settlement speed -------------------------------------------------------------------------


def test_settlement_speed(store: Any) -> None:
    rows = run(store, "settlement_speed", as_of=AS_OF)
    assert columns(store, "settlement_speed", as_of=AS_OF) == [
        "policy_year", "paid_claims", "median_days", "p90_days", "one_stop_share",
        "pending_claims", "oldest_pending_days"]
    row = pick(rows, policy_year=2024)
    # Days of the 11 paid claims, sorted: 3 7 8 15 16 30 31 60 61 90 91.
    assert row["paid_claims"] == 11
    assert row["median_days"] == approx(30)  # the 6th of 11
    assert row["p90_days"] == approx(90)  # position 0.9 × (11 − 1) = 9: the 10th value
    assert row["one_stop_share"] == approx(8 / 11)  # all but P04, P05, P08
    # Pending on 06-30: N01 (pending), N02 (paid 07-05), N04 (denied 07-10); not N05 (reported
    # 07-02). The oldest, N01, was reported 04-01: 29 + 31 + 30 = 90 days before 06-30.
    assert (row["pending_claims"], row["oldest_pending_days"]) == (3, 90)
    # 2023: one paid claim of 10 days, not one-stop; nothing pending.
    assert pick(rows, policy_year=2023) == {
        "policy_year": 2023, "paid_claims": 1, "median_days": 10.0, "p90_days": 10.0,
        "one_stop_share": 0.0, "pending_claims": 0, "oldest_pending_days": None}


def test_settlement_speed_without_paid_claims_is_null_not_zero(store: Any) -> None:
    rows = run(store, "settlement_speed", as_of=AS_OF)
    # 2022 has only a denied claim: no paid claim, so no speed and no one-stop share.
    assert pick(rows, policy_year=2022) == {
        "policy_year": 2022, "paid_claims": 0, "median_days": None, "p90_days": None,
        "one_stop_share": None, "pending_claims": 0, "oldest_pending_days": None}


def test_settlement_speed_interpolates_between_claims(store: Any) -> None:
    rows = run(store, "settlement_speed", as_of=date(2024, 1, 31))
    row = pick(rows, policy_year=2024)
    # Settled by 01-31: P01 3, P02 7, P03 8 days. Median: the middle one, 7.
    # p90: position 0.9 × (3 − 1) = 1.8, so 7 + 0.8 × (8 − 7) = 7.8.
    assert row["paid_claims"] == 3
    assert row["median_days"] == approx(7)
    assert row["p90_days"] == approx(7.8)
    assert row["one_stop_share"] == approx(1.0)
    # P04, reported 01-25 and paid 02-09, is still pending on 01-31: 6 days old. P05 onwards
    # are reported after 01-31.
    assert (row["pending_claims"], row["oldest_pending_days"]) == (1, 6)


def test_settlement_speed_median_of_an_even_count(store: Any) -> None:
    rows = run(store, "settlement_speed", as_of=date(2024, 2, 9))
    row = pick(rows, policy_year=2024)
    # Settled by 02-09: 3 7 8 15. Median (7 + 8) / 2 = 7.5; p90 at 0.9 × 3 = 2.7:
    # 8 + 0.7 × (15 − 8) = 12.9.
    assert row["median_days"] == approx(7.5)
    assert row["p90_days"] == approx(12.9)
    assert row["one_stop_share"] == approx(3 / 4)  # P04 is not one-stop


# --- settlement lag distribution --------------------------------------------------------------


def test_settlement_lag_distribution_has_every_bucket(store: Any) -> None:
    rows = run(store, "settlement_lag_distribution", as_of=AS_OF)
    assert columns(store, "settlement_lag_distribution", as_of=AS_OF) == [
        "policy_year", "lag_bucket", "bucket_order", "paid_claims"]
    # 2024: 3 7 | 8 15 | 16 30 | 31 60 | 61 90 | 91 — each band's ends included.
    assert [(r["bucket_order"], r["lag_bucket"], r["paid_claims"])
            for r in rows if r["policy_year"] == 2024] == [
        (1, "0–7天", 2), (2, "8–15天", 2), (3, "16–30天", 2), (4, "31–60天", 2),
        (5, "61–90天", 2), (6, "90天以上", 1)]
    # 2023: Q01's 10 days, and five empty bands, zero-filled.
    assert [r["paid_claims"] for r in rows if r["policy_year"] == 2023] == [0, 1, 0, 0, 0, 0]
    # 2022 has no paid claim: no rows at all.
    assert {r["policy_year"] for r in rows} == {2023, 2024}


def test_settlement_lag_distribution_on_an_earlier_as_of_date(store: Any) -> None:
    rows = run(store, "settlement_lag_distribution", as_of=date(2024, 1, 31))
    # P01 3, P02 7, P03 8 days; the other four bands are zero.
    assert [(r["lag_bucket"], r["paid_claims"]) for r in rows if r["policy_year"] == 2024] == \
        list(zip(LAG_BUCKETS, [2, 1, 0, 0, 0, 0], strict=True))


# --- claim size distribution ------------------------------------------------------------------


def test_claim_size_distribution_has_every_bucket(store: Any) -> None:
    rows = run(store, "claim_size_distribution", as_of=AS_OF)
    assert columns(store, "claim_size_distribution", as_of=AS_OF) == [
        "policy_year", "size_bucket", "bucket_order", "paid_claims", "claims_paid"]
    assert [(r["size_bucket"], r["bucket_order"], r["paid_claims"], r["claims_paid"])
            for r in rows if r["policy_year"] == 2024] == [
        ("<1千", 1, 3, yuan("1000.29")),  # 999.99 + 0.10 + 0.20
        ("1千–5千", 2, 2, yuan("5999.99")),  # 1000.00 (lower bound included) + 4999.99
        ("5千–1万", 3, 1, yuan("5000.00")),
        ("1万–5万", 4, 3, yuan("72345.66")),  # 10000 + 49999.99 + 12345.67
        ("5万–10万", 5, 0, yuan("0.00")),  # empty, zero-filled
        ("10万–50万", 6, 1, yuan("100000.00")),
        ("≥50万", 7, 1, yuan("500000.00")),  # 500000 exactly belongs to the top band
    ]
    # 2023: Q01's 2500.50 only.
    assert [r["paid_claims"] for r in rows if r["policy_year"] == 2023] == [0, 1, 0, 0, 0, 0, 0]
    assert [r["size_bucket"] for r in rows if r["policy_year"] == 2023] == SIZE_BUCKETS
    assert {r["policy_year"] for r in rows} == {2023, 2024}


def test_claim_size_bands_sum_to_claims_paid(store: Any) -> None:
    rows = run(store, "claim_size_distribution", as_of=AS_OF)
    # 1000.29 + 5999.99 + 5000 + 72345.66 + 100000 + 500000 = 684345.94, to the fen.
    total = sum((r["claims_paid"] for r in rows if r["policy_year"] == 2024), Decimal(0))
    assert total == yuan("684345.94")
    assert sum(r["paid_claims"] for r in rows if r["policy_year"] == 2024) == 11


def test_claim_size_distribution_on_a_later_as_of_date(store: Any) -> None:
    rows = run(store, "claim_size_distribution", as_of=date(2024, 12, 31))
    # N02 (777.77) and N06 (300) are paid by year end: both under 1 000.
    first = pick(rows, policy_year=2024, bucket_order=1)
    assert (first["paid_claims"], first["claims_paid"]) == (5, yuan("2078.06"))  # + 1077.77


# --- expenses by category ---------------------------------------------------------------------


def test_expenses_by_category(store: Any) -> None:
    rows = run(store, "expenses_by_category")
    assert columns(store, "expenses_by_category") == [
        "policy_year", "insurer_id", "insurer_name", "category", "expenses"]
    assert [tuple(r.values()) for r in rows] == [
        (2023, "I1", "I1 保险股份有限公司", "staff", yuan("40.00")),
        (2024, "I1", "I1 保险股份有限公司", "it", yuan("50.00")),
        (2024, "I1", "I1 保险股份有限公司", "operations", yuan("300.30")),  # 100.10 + 200.20
        (2024, "I2", "I2 保险股份有限公司", "promotion", yuan("80.05")),
        # I9 is not in the 2024 group: kept (with a warning), but it has no name.
        (2024, "I9", None, "other", yuan("10.00")),
    ]


def test_expense_categories_sum_to_operating_expenses(store: Any) -> None:
    by_category = run(store, "expenses_by_category")
    for row in run(store, "operating_expenses"):
        assert sum(
            (r["expenses"] for r in by_category
             if (r["policy_year"], r["insurer_id"]) == (row["policy_year"], row["insurer_id"])),
            Decimal(0),
        ) == row["expenses"]
