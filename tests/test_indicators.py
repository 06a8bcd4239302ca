"""The figures supervisors publish (hmb.measure.indicators), worked out by hand on one folder.

Counties 350402, 350403 and 350404 (the last only in 2024). Enrolments (premium 150 unless said):

    member  2023                          2024
    R1      350402 active                 350402 active, paid 2023-12-01, wechat
    R2      350402 active                 350402 active, paid 2024-08-01 (after 06-30), pers. acc.
    R3      350402 cancelled, refund 150  350402 active, personal account, pre-existing
    R4      350403 active                 350403 cancelled, refund 100, personal account
    R5      350403 active                 350402 active (moved), personal account, pre-existing
    R6      350402 twice: quarantined     350402 active, wechat
    R7      350402 active                 350402 twice, personal account: quarantined
    R8      350403 active                 —
    R10     —                             350404 cancelled, refund 150 (writes nothing)

Claims of 2024 (paid on the settle date unless said; one-stop only C1):

    C1  R1  inpatient_in_area           1 000.00  settled 03-20, one-stop
    C2  R3  inpatient_in_area           2 000.00  settled 04-01
    C3  R3  inpatient_in_area             500.55  settled 07-15 (after 06-30)
    C4  R5  outpatient_special_disease  pending
    C5  R5  special_drugs                   0.45  settled 05-05
    C6  R1  inpatient_in_area           denied
    C7  R7  inpatient_in_area           9 999.00  quarantined: R7 has no accepted 2024 enrolment

and one 2023 claim, C8 of R1, still pending. Money is compared as Decimal, to the fen.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

import queries
from hmb.access.scoping import scope_for, scoped_connection
from hmb.ingest import member_links
from hmb.ingest.dataset import Dataset, open_dataset
from hmb.measure import indicators
from hmb.measure.indicators import (
    ClaimantRow,
    Indicators,
    OneStopRow,
    PersonalAccountRow,
    PreexistingRow,
    RenewalRow,
)
from tests.builders import (
    Row,
    basic_insured_row,
    claim_row,
    enrollment_row,
    run_cli,
    write_folder,
)

AS_OF = date(2024, 6, 30)
YEAR_END = date(2024, 12, 31)


def _enrolment(member: str, year: int, county: str, **fields: Any) -> Row:
    paid = "2022-12-01" if year == 2023 else "2023-12-01"
    return enrollment_row(member_id=member, policy_year=year, county_code=county,
                          enroll_date=fields.pop("enroll_date", paid), **fields)


def _tables() -> dict[str, list[Row]]:
    basic = [basic_insured_row(county, 100, policy_year=year)
             for year in (2023, 2024) for county in ("350402", "350403")]
    basic.append(basic_insured_row("350404", 100, policy_year=2024))
    pa = {"channel": "personal_account"}
    enrollment = [
        _enrolment("R1", 2023, "350402"),
        _enrolment("R2", 2023, "350402"),
        _enrolment("R3", 2023, "350402", status="cancelled", refund_amount=150.0),
        _enrolment("R4", 2023, "350403"),
        _enrolment("R5", 2023, "350403"),
        _enrolment("R6", 2023, "350402"),
        _enrolment("R6", 2023, "350402"),
        _enrolment("R7", 2023, "350402"),
        _enrolment("R8", 2023, "350403"),
        _enrolment("R1", 2024, "350402"),
        _enrolment("R2", 2024, "350402", enroll_date="2024-08-01", **pa),
        _enrolment("R3", 2024, "350402", health_status="preexisting", **pa),
        _enrolment("R4", 2024, "350403", status="cancelled", refund_amount=100.0, **pa),
        _enrolment("R5", 2024, "350402", health_status="preexisting", **pa),
        _enrolment("R6", 2024, "350402"),
        _enrolment("R7", 2024, "350402", **pa),
        _enrolment("R7", 2024, "350402", **pa),
        _enrolment("R10", 2024, "350404", status="cancelled", refund_amount=150.0),
    ]
    claims = [
        claim_row(member_id="R1", claim_id="C1", paid_amount=1000.0, one_stop=True),
        claim_row(member_id="R3", claim_id="C2", paid_amount=2000.0, one_stop=False,
                  settle_date="2024-04-01"),
        claim_row(member_id="R3", claim_id="C3", paid_amount=500.55, one_stop=False,
                  settle_date="2024-07-15"),
        claim_row(member_id="R5", claim_id="C4", liability="outpatient_special_disease",
                  status="pending", settle_date=None, paid_amount=0.0, one_stop=False),
        claim_row(member_id="R5", claim_id="C5", liability="special_drugs", paid_amount=0.45,
                  one_stop=False, settle_date="2024-05-05"),
        claim_row(member_id="R1", claim_id="C6", status="denied", paid_amount=0.0,
                  one_stop=False),
        claim_row(member_id="R7", claim_id="C7", paid_amount=9999.0),
        claim_row(member_id="R1", claim_id="C8", policy_year=2023, service_date="2023-03-01",
                  report_date="2023-03-05", status="pending", settle_date=None,
                  paid_amount=0.0),
    ]
    return {"basic_insured": basic, "enrollment": enrollment, "claims": claims}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    root = tmp_path_factory.mktemp("indicators")
    return open_dataset(write_folder(root, **_tables()), cache_dir=root / "cache")


def _figures(dataset: Dataset, as_of: date) -> Indicators:
    with member_links.connect(dataset) as con:
        return indicators.indicators(con, as_of)


def test_the_folder_quarantines_what_it_should(store: Dataset) -> None:
    tables = store.report["tables"]
    assert tables["enrollment"]["rows_quarantined"] == 4  # R6 twice in 2023, R7 twice in 2024
    assert tables["claims"]["rows_quarantined"] == 1  # C7


def test_renewal_rate_follows_members_of_the_year_before(store: Dataset) -> None:
    # 350402 in 2023, active and accepted: R1, R2, R7 (R3 cancelled, R6 quarantined). By 06-30
    # only R1 renewed (R2 paid on 08-01; both copies of R7's 2024 enrolment are quarantined).
    # 350403: R4, R5, R8; R5 renewed (in 350402: he counts for the county he left); R4
    # cancelled his 2024 enrolment.
    assert _figures(store, AS_OF).renewal == [
        RenewalRow(2023, None, 0, 0),  # the first year of the data
        RenewalRow(2024, None, 6, 2),
        RenewalRow(2024, "350402", 3, 1),
        RenewalRow(2024, "350403", 3, 1),
    ]
    rates = {(r.policy_year, r.county_code): r.rate for r in _figures(store, AS_OF).renewal}
    assert rates == {(2023, None): None, (2024, None): 2 / 6, (2024, "350402"): 1 / 3,
                     (2024, "350403"): 1 / 3}
    # R2's 2024 enrolment is paid by the year's end.
    late = {(r.policy_year, r.county_code): (r.prior_members, r.renewed)
            for r in _figures(store, YEAR_END).renewal}
    assert late[(2024, "350402")] == (3, 2)
    assert late[(2024, None)] == (6, 3)


def test_renewal_before_the_policy_year_has_an_enrolment(store: Dataset) -> None:
    # On 2023-11-30 no 2024 enrolment is paid: 2024 is not a year of the data yet.
    assert _figures(store, date(2023, 11, 30)).renewal == [RenewalRow(2023, None, 0, 0)]


def test_personal_account_share_nets_refunds_and_skips_the_quarantine(store: Dataset) -> None:
    # 2024 by 06-30: 350402 R1 150 wechat, R3 150 and R5 150 personal account, R6 150 wechat
    # (R2 not paid yet, R7 quarantined): 300 of 600. 350403: R4 150 − 100 refunded, personal
    # account: 50 of 50. 350404: R10 fully refunded: 0 of 0, share null.
    rows = [r for r in _figures(store, AS_OF).personal_account if r.policy_year == 2024]
    assert rows == [
        PersonalAccountRow(2024, None, Decimal("350.00"), Decimal("650.00")),
        PersonalAccountRow(2024, "350402", Decimal("300.00"), Decimal("600.00")),
        PersonalAccountRow(2024, "350403", Decimal("50.00"), Decimal("50.00")),
        PersonalAccountRow(2024, "350404", Decimal("0.00"), Decimal("0.00")),
    ]
    assert [r.share for r in rows] == [350 / 650, 0.5, 1.0, None]
    # 2023: R1 R2 R4 R5 R7 R8 active 150 each, R3 cancelled and refunded: 900, none by account.
    assert [r.as_json() for r in _figures(store, AS_OF).personal_account
            if r.policy_year == 2023 and r.county_code is None] == [
        {"policy_year": 2023, "county_code": None, "personal_account_premium": 0.0,
         "written_premium": 900.0, "personal_account_share": 0.0}]
    late = _figures(store, YEAR_END).personal_account
    assert next(r for r in late if r.county_code == "350402" and r.policy_year == 2024).share \
        == 450 / 750


def test_personal_account_premium_is_part_of_written_premium(store: Dataset) -> None:
    with member_links.connect(store) as con:
        written = {r["policy_year"]: r["written_premium"]
                   for r in queries.rows(con, "written_premium", as_of=AS_OF)}
    totals = {r.policy_year: r.written_premium
              for r in _figures(store, AS_OF).personal_account if r.county_code is None}
    assert totals == written


def test_preexisting_share_of_claims_and_payouts(store: Dataset) -> None:
    # By 06-30: C1 (R1, healthy) 1000, C2 (R3, pre-existing) 2000, C5 (R5, pre-existing) 0.45;
    # C3 is paid after, C4 pending, C6 denied, C7 quarantined. 2023: C8 pending, nothing paid.
    assert _figures(store, AS_OF).preexisting == [
        PreexistingRow(2023, 0, 0, Decimal("0.00"), Decimal("0.00")),
        PreexistingRow(2024, 3, 2, Decimal("3000.45"), Decimal("2000.45")),
    ]
    year_2023, year_2024 = _figures(store, AS_OF).preexisting
    assert (year_2023.claims_share, year_2023.payout_share) == (None, None)
    assert year_2024.claims_share == 2 / 3
    assert year_2024.payout_share == float(Decimal("2000.45") / Decimal("3000.45"))
    late = _figures(store, YEAR_END).preexisting[1]
    assert (late.paid_claims, late.preexisting_claims) == (4, 3)
    assert (late.claims_paid, late.preexisting_paid) == (Decimal("3501.00"), Decimal("2501.00"))


def test_claimants_and_payout_per_claimant(store: Dataset) -> None:
    # By 06-30: R1 (C1), R3 (C2), R5 (C5): 3 claimants for 3 000.45 → 1 000.15 each. By the
    # year's end C3 is R3's second payment: still 3 claimants, 3 501.00 → 1 167.00.
    assert _figures(store, AS_OF).claimants == [
        ClaimantRow(2023, 0, 0, Decimal("0.00")),
        ClaimantRow(2024, 3, 3, Decimal("3000.45")),
    ]
    assert _figures(store, AS_OF).claimants[0].payout_per_claimant is None
    assert _figures(store, AS_OF).claimants[1].payout_per_claimant == Decimal("1000.15")
    late = _figures(store, YEAR_END).claimants[1]
    assert (late.claimants, late.paid_claims, late.payout_per_claimant) == (
        3, 4, Decimal("1167.00"))
    assert late.as_json()["payout_per_claimant"] == 1167.0


def test_payout_per_claimant_is_exact_before_it_is_rounded() -> None:
    row = ClaimantRow(2024, 3, 3, Decimal("100.00"))
    assert row.payout_per_claimant == Decimal("100.00") / 3
    assert row.as_json()["payout_per_claimant"] == 33.33


def test_one_stop_share_by_liability(store: Dataset) -> None:
    # inpatient_in_area: C1 one-stop 1000 and C2 2000 paid (C3 later, C6 denied);
    # special_drugs: C5 0.45, not one-stop; outpatient_special_disease: C4 pending only.
    rows = [r for r in _figures(store, AS_OF).one_stop if r.policy_year == 2024]
    assert rows == [
        OneStopRow(2024, None, 3, 1, Decimal("3000.45"), Decimal("1000.00")),
        OneStopRow(2024, "inpatient_in_area", 2, 1, Decimal("3000.00"), Decimal("1000.00")),
        OneStopRow(2024, "outpatient_special_disease", 0, 0, Decimal("0.00"), Decimal("0.00")),
        OneStopRow(2024, "special_drugs", 1, 0, Decimal("0.45"), Decimal("0.00")),
    ]
    assert [(r.count_share, r.amount_share) for r in rows] == [
        (1 / 3, float(Decimal("1000.00") / Decimal("3000.45"))),
        (0.5, 1 / 3),
        (None, None),
        (0.0, 0.0),
    ]


def test_the_year_one_stop_share_is_the_settlement_speed_one(store: Dataset) -> None:
    with member_links.connect(store) as con:
        speed = {r["policy_year"]: r["one_stop_share"]
                 for r in queries.rows(con, "settlement_speed", as_of=AS_OF)}
    years = {r.policy_year: r.count_share for r in _figures(store, AS_OF).one_stop
             if r.liability is None}
    assert years == speed


def test_zero_denominators_are_null_not_zero() -> None:
    assert RenewalRow(2024, None, 0, 0).rate is None
    assert PersonalAccountRow(2024, None, Decimal(0), Decimal(0)).share is None
    empty = PreexistingRow(2024, 0, 0, Decimal(0), Decimal(0))
    assert (empty.claims_share, empty.payout_share) == (None, None)
    assert ClaimantRow(2024, 0, 0, Decimal(0)).as_json()["payout_per_claimant"] is None
    nothing = OneStopRow(2024, None, 0, 0, Decimal(0), Decimal(0))
    assert (nothing.count_share, nothing.amount_share) == (None, None)


def test_a_county_supervisor_sees_her_countys_renewal_rate_only(store: Dataset) -> None:
    # 350403's renewal rate is 1/3 and so is 350402's: R2 renewing by the year's end makes
    # 350402's 2/3, which she must not see, nor the jurisdiction's 3/6.
    scope = scope_for("county_supervisor", ["350403"])
    member_links.ensure(store)
    with scoped_connection(store.store, scope) as con:
        figures = indicators.indicators(con, YEAR_END)
    assert {r.county_code for r in figures.renewal} <= {None, "350403"}
    assert [r for r in figures.renewal if r.policy_year == 2024] == [
        RenewalRow(2024, None, 3, 1), RenewalRow(2024, "350403", 3, 1)]
    assert {r.county_code for r in figures.personal_account} <= {None, "350403"}
    whole = next(r for r in figures.personal_account if r.policy_year == 2024)
    assert whole.as_json() == {
        "policy_year": 2024, "county_code": None, "personal_account_premium": 50.0,
        "written_premium": 50.0, "personal_account_share": 1.0}


def test_the_command_prints_the_same_figures(store: Dataset) -> None:
    result = run_cli("indicators", store.folder, "--profile", "sanming-2024", "--as-of",
                     AS_OF.isoformat(), "--format", "json")
    assert result.code == 0, result.err
    output = result.json()
    assert output["profile"] == "sanming-2024" and output["as_of"] == "2024-06-30"
    assert output == {"profile": "sanming-2024", "as_of": "2024-06-30",
                      **_figures(store, AS_OF).as_json()}
    renewal = next(r for r in output["renewal"]
                   if r["policy_year"] == 2024 and r["county_code"] is None)
    assert renewal == {"policy_year": 2024, "county_code": None, "prior_members": 6,
                       "renewed": 2, "renewal_rate": 2 / 6}
    text = run_cli("indicators", store.folder, "--profile", "sanming-2024", "--as-of",
                   AS_OF.isoformat())
    assert text.code == 0, text.err
    for words in ("续保率", "Renewal rate", "33.33%", "人均赔付", "1,000.15 元", "—"):
        assert words in text.out, words


def test_the_command_refuses_a_missing_folder(tmp_path: Path) -> None:
    result = run_cli("indicators", tmp_path / "nowhere", "--profile", "sanming-2024")
    assert result.code == 2
    assert "Traceback" not in result.text


def test_every_column_of_the_indicator_rows_has_a_header(store: Dataset) -> None:
    from hmb.core import labels  # noqa: PLC0415

    for rows in _figures(store, YEAR_END).as_json().values():
        columns = list(rows[0])
        assert not set(columns) - set(labels.COLUMNS), columns
        for lang in labels.LANGS:
            headers = [labels.label("column", c, lang) for c in columns]
            assert len(set(headers)) == len(headers), (lang, headers)


def test_the_links_are_counted_on_first_use_not_with_the_store(tmp_path: Path) -> None:
    dataset = open_dataset(write_folder(tmp_path, **_tables()), cache_dir=tmp_path / "cache")
    path = member_links.links_path(dataset.store)
    assert not path.exists()  # hmb metrics and hmb check never wait for them
    assert member_links.ensure(dataset) == path and path.exists()
    with scoped_connection(dataset.store, scope_for("city_supervisor")) as con:
        tables = {name for (name,) in con.execute("select view_name from duckdb_views()"
                                                  " where database_name = 'memory'").fetchall()}
    assert set(member_links.TABLES) <= tables
    with duckdb.connect(str(path), read_only=True) as con:
        columns = {name for (name,) in con.execute(
            "select column_name from information_schema.columns").fetchall()}
    assert "member_id" not in columns  # counts only


@pytest.mark.parametrize(
    "layout", [{"layout": "hive", "files": 2}, {"dates": "string", "amounts": "decimal"}],
    ids=["hive-partitioned", "text-dates-decimal-amounts"])
def test_the_links_read_every_export_layout_alike(tmp_path: Path, layout: dict[str, Any],
                                                  store: Dataset) -> None:
    other = open_dataset(write_folder(tmp_path, **_tables(), **layout),
                         cache_dir=tmp_path / "cache")
    assert _figures(other, AS_OF) == _figures(store, AS_OF)
