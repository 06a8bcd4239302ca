"""On each jurisdiction's demo, `hmb check` raises the breaches the data contains and no others.

The expected breaches are computed here independently of the product: participation, coverage,
premiums and enrolment dates straight from the parquet files with Polars, the finance figures
from the generator's own `demo.json` (which it computes without the product's SQL), and the
thresholds written out from the documents. The in-campaign and in-year projections are left to
tests/test_rules.py, where their inputs are controlled.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from hmb.cli.main import main
from hmb.tools.demo import write_demo

Breach = tuple[str, int, str | None, str | None, str]  # rule, year, county, group, severity


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("demos")
    names = ("sanming-2024", "nantong-2021", "shenyang-2021", "hunan-2024", "wenzhou-2021")
    return {name: write_demo(root / name, name, seed=0, scale=0.5).path for name in names}


def _enrolment(folder: Path, as_of: date) -> pl.DataFrame:
    frame = pl.read_parquet(folder / "enrollment" / "**" / "*.parquet", hive_partitioning=True)
    return frame.filter((pl.col("status") == "active") & (pl.col("enroll_date") <= as_of))


def _figures(folder: Path) -> tuple[date, list[dict[str, Any]]]:
    summary = json.loads((folder / "demo.json").read_text())
    return date.fromisoformat(summary["as_of"]), summary["figures"]


def _checked(folder: Path, profile: str, capsys: pytest.CaptureFixture[str]) -> set[Breach]:
    assert main(["check", str(folder), "--profile", profile, "--format", "json"]) == 0
    alerts = json.loads(capsys.readouterr().out)["alerts"]
    return {
        (a["rule_id"], a["scope"]["policy_year"], a["scope"]["county_code"],
         a["scope"]["subsidy_group"], a["severity"])
        for a in alerts
        if a["projection"] is None
    }


def _mispaid_breaches(folder: Path, as_of: date, audited: set[str]) -> set[Breach]:
    """The claims audit's rule (local thresholds: warning above 0.5 %, critical above 2 %) on
    the mispayments the generator planted, as demo.json lists them ("paid X yuan, the table says
    Y"), over the amount paid on the claims the audit takes (paid or denied by as-of, on a
    liability of the table); every other claim is paid as the table says."""
    summary = json.loads((folder / "demo.json").read_text())
    mispaid: dict[int, float] = {}
    for breach in summary["planted"]:
        if breach["kind"].startswith("claim_"):
            paid, due = (float(x.replace(",", "")) for x in
                         re.findall(r"([\d,]+\.\d\d)", breach["detail"]))
            mispaid[breach["policy_year"]] = mispaid.get(breach["policy_year"], 0) + abs(
                paid - due)
    claims = pl.read_parquet(folder / "claims" / "**" / "*.parquet", hive_partitioning=True)
    paid = claims.filter(pl.col("status").is_in(["paid", "denied"])
                         & (pl.col("settle_date") <= as_of)
                         & pl.col("liability").is_in(sorted(audited)))
    by_year = {r["policy_year"]: r["paid_amount"] for r in paid.group_by("policy_year").agg(
        pl.col("paid_amount").sum()).iter_rows(named=True)}
    breaches: set[Breach] = set()
    for year, amount in mispaid.items():
        share = amount / float(by_year[year])
        if share > 0.005:
            breaches.add(("claims_paid_per_table", year, None, None,
                          "critical" if share > 0.02 else "warning"))
    return breaches


def _county_participation(folder: Path, as_of: date) -> pl.DataFrame:
    base = (pl.read_parquet(folder / "basic_insured.parquet")
            .group_by("policy_year", "county_code").agg(pl.col("insured_count").sum()))
    enrolled = _enrolment(folder, as_of).group_by("policy_year", "county_code").len("enrolled")
    return (base.join(enrolled, on=["policy_year", "county_code"], how="left").fill_null(0)
            .with_columns((pl.col("enrolled") / pl.col("insured_count")).alias("rate")))


def _coverage_breaches(folder: Path, as_of: date, rule: str, groups: set[str]) -> set[Breach]:
    eligible = pl.read_parquet(folder / "subsidy_eligible.parquet")
    enrolled = (_enrolment(folder, as_of).filter(pl.col("subsidy_group").is_not_null())
                .group_by("policy_year", "county_code", "subsidy_group").len("enrolled"))
    joined = eligible.join(enrolled, on=["policy_year", "county_code", "subsidy_group"],
                           how="left").fill_null(0)
    return {
        (rule, r["policy_year"], r["county_code"], r["subsidy_group"], "critical")
        for r in joined.iter_rows(named=True)
        if r["subsidy_group"] in groups and r["policy_year"] <= as_of.year
        and r["enrolled"] < r["eligible_count"]
    }


def _ratio(row: dict[str, Any], numerator: float) -> float:
    return numerator / row["earned_premium"]


def _completed(figures: list[dict[str, Any]], as_of: date) -> list[dict[str, Any]]:
    return [f for f in figures if as_of >= date(f["policy_year"], 12, 31)]


def _settled(figures: list[dict[str, Any]], as_of: date) -> list[dict[str, Any]]:
    """Years judged on what is paid: 24 months of development (hmb.judge.rules
    MATURE_AGE_MONTHS). A younger ended year is judged on its projected ultimate, an alert with
    a projection, which these tests leave to tests/test_rules.py."""
    return [f for f in figures if as_of >= date(f["policy_year"] + 1, 12, 1)]


def test_sanming(demos: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder = demos["sanming-2024"]
    as_of, figures = _figures(folder)
    expected: set[Breach] = set()
    counties = _county_participation(folder, as_of)
    for r in counties.iter_rows(named=True):
        # 明政办规〔2023〕5号 三（七）1: at least 20 % (critical), aim 30 % (warning).
        if r["rate"] < 0.20:
            expected.add(("county_participation", r["policy_year"], r["county_code"], None,
                          "critical"))
        elif r["rate"] < 0.30:
            expected.add(("county_participation", r["policy_year"], r["county_code"], None,
                          "warning"))
    city = counties.group_by("policy_year").agg(pl.col("enrolled").sum(),
                                                pl.col("insured_count").sum())
    for r in city.iter_rows(named=True):
        rate = r["enrolled"] / r["insured_count"]
        if rate < 0.30:  # 三（六）3: below 30 % the 100,000 tier is not reached
            expected.add(("city_participation_tier", r["policy_year"], None, None,
                          "critical" if rate < 0.20 else "warning"))
    for f in _settled(figures, as_of):
        profit = f["earned_premium"] - f["claims_paid"] - f["expenses"]
        if _ratio(f, profit) > 0.03:  # 三（八）2
            expected.add(("net_profit_cap", f["policy_year"], None, None, "warning"))
    enrolment = _enrolment(folder, as_of)
    for year in enrolment["policy_year"].unique().to_list():
        rows = enrolment.filter(pl.col("policy_year") == year)
        if rows.filter(pl.col("enroll_date") > date(year - 1, 12, 31)).height:  # 三（四）
            expected.add(("enrolment_deadline", year, None, None, "warning"))
        if rows.filter(pl.col("premium").cast(pl.Float64) != 150).height:  # 三（三）1
            expected.add(("premium_standard", year, None, None, "critical"))
    expected |= _coverage_breaches(folder, as_of, "subsidised_groups_enrolled",
                                   {"tekun", "wulao", "dibao", "orphan"})
    expected |= _mispaid_breaches(folder, as_of, {
        "inpatient_in_area", "inpatient_out_of_area", "outpatient_special_disease"})
    assert _checked(folder, "sanming-2024", capsys) == expected
    # The planted breaches are among them.
    assert {b[0] for b in expected} >= {"net_profit_cap", "enrolment_deadline",
                                        "subsidised_groups_enrolled", "county_participation"}


def test_nantong(demos: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder = demos["nantong-2021"]
    as_of, figures = _figures(folder)
    expected: set[Breach] = set()
    for f in _completed(figures, as_of):
        profit = f["earned_premium"] - f["claims_paid"] - f["expenses"]
        if _ratio(f, profit) > 0.10:  # 通政办发〔2021〕22号 二（五）
            expected.add(("annual_surplus_cap", f["policy_year"], None, None, "warning"))
    premiums = _enrolment(folder, as_of).filter(pl.col("policy_year") == 2021)
    if premiums.filter(pl.col("premium").cast(pl.Float64) != 296).height:  # 三（一）
        expected.add(("premium_standard", 2021, None, None, "critical"))
    assert ("annual_surplus_cap", 2021, None, None, "warning") in expected
    expected |= _mispaid_breaches(folder, as_of, {
        "inpatient_copay", "inpatient_self_pay", "special_cancer_drugs", "rare_disease"})
    assert _checked(folder, "nantong-2021", capsys) == expected


def test_shenyang(demos: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder = demos["shenyang-2021"]
    as_of, figures = _figures(folder)
    expected: set[Breach] = set()
    for f in _completed(figures, as_of):
        loss_ratio = _ratio(f, f["claims_paid"])
        if loss_ratio < 0.75:  # 沈医保发〔2021〕40号 三（三）
            expected.add(("repricing_trigger", f["policy_year"], None, None, "critical"))
        if 1 - loss_ratio > 0.20 + 1e-12:  # 三（二）: cost plus profit = 1 − loss ratio
            expected.add(("cost_and_profit_cap", f["policy_year"], None, None, "warning"))
    assert ("repricing_trigger", 2021, None, None, "critical") in expected
    assert _checked(folder, "shenyang-2021", capsys) == expected


def test_hunan(demos: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder = demos["hunan-2024"]
    as_of, figures = _figures(folder)
    expected: set[Breach] = set()
    for f in figures:
        finished = as_of >= date(f["policy_year"], 12, 31)
        if _ratio(f, f["claims_paid"] + f["expenses"]) > 0.95:  # 湘政办发〔2024〕5号 三
            expected.add(("combined_ratio_cap", f["policy_year"], None, None, "critical"))
        if finished and _ratio(f, f["claims_paid"]) < 0.85:  # 给付率不低于85% (finished years)
            expected.add(("payout_ratio_floor", f["policy_year"], None, None, "critical"))
    enrolment = _enrolment(folder, as_of)
    for year in enrolment["policy_year"].unique().to_list():
        counts = (enrolment.filter(pl.col("policy_year") == year).group_by("premium").len()
                  .sort(["len", "premium"], descending=[True, False]))
        if float(counts["premium"][0]) / 400 > 0.50:  # 50 % of a 400-yuan contribution
            expected.add(("premium_ceiling", year, None, None, "critical"))
    assert {("premium_ceiling", 2026, None, None, "critical"),
            ("payout_ratio_floor", 2024, None, None, "critical"),
            ("combined_ratio_cap", 2025, None, None, "critical")} <= expected
    assert _checked(folder, "hunan-2024", capsys) == expected


def test_wenzhou(demos: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder = demos["wenzhou-2021"]
    as_of, figures = _figures(folder)
    expected: set[Breach] = set()
    for f in _completed(figures, as_of):
        profit = f["earned_premium"] - f["claims_paid"] - f["expenses"]
        if _ratio(f, profit) > 0.05:  # the working group's local 5 % margin
            expected.add(("excess_surplus", f["policy_year"], None, None, "warning"))
    enrolment = _enrolment(folder, as_of)
    for year in enrolment["policy_year"].unique().to_list():
        dates = enrolment.filter(pl.col("policy_year") == year)["enroll_date"]
        if (dates.max() - dates.min()).days + 1 > 62:  # type: ignore[operator]  # 三（七）4
            expected.add(("enrolment_window", year, None, None, "warning"))
    insurers = pl.read_parquet(folder / "insurers.parquet").group_by("policy_year").len()
    for r in insurers.iter_rows(named=True):
        if r["len"] != 5:  # 三（六）2 择优选定5家
            expected.add(("five_insurers", r["policy_year"], None, None, "critical"))
    expected |= _coverage_breaches(folder, as_of, "low_income_farmers_enrolled",
                                   {"low_income_farmer"})
    assert {("five_insurers", 2023, None, None, "critical"),
            ("enrolment_window", 2022, None, None, "warning")} <= expected
    assert _checked(folder, "wenzhou-2021", capsys) == expected
