"""The demo generator writes contract-shaped, deterministic, realistic data folders."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hmb.cli.main import main
from hmb.core import schema
from hmb.rulebook.profiles import available_profiles, load_profile
from hmb.tools.demo import (
    DEMO_PROFILES,
    PLANS,
    SETTLEMENT_LAGS,
    DemoSummary,
    ensure_demo,
    generator_stamp,
    settlement_days,
    write_demo,
)

SMALL = 0.05

# The contract's types as parquet files carry them (docs/contract.md §1; DECIMAL chosen for money).
EXPECTED_TYPE = {
    "integer": pa.int32(),
    "string": pa.string(),
    "county_code": pa.string(),
    "amount": pa.decimal128(18, 2),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "share": pa.float64(),
}


@pytest.fixture(scope="module")
def sanming(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return write_demo(tmp_path_factory.mktemp("demo") / "sanming", "sanming-2024", scale=SMALL)


@pytest.fixture(scope="module")
def hunan(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return write_demo(tmp_path_factory.mktemp("demo") / "hunan", "hunan-2024", scale=SMALL)


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DemoSummary]:
    """Every jurisdiction's demo as `hmb demo` writes it (scale 1): enough claims for quantiles."""
    root = tmp_path_factory.mktemp("demos")
    return {name: write_demo(root / name, name) for name in DEMO_PROFILES}


def _connect(folder: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in ("enrollment", "claims"):
        con.execute(f"create view {name} as select * from read_parquet("
                    f"'{folder}/{name}/**/*.parquet', hive_partitioning = true)")
    for name in ("basic_insured", "insurers", "expenses", "subsidy_eligible"):
        con.execute(f"create view {name} as select * from read_parquet('{folder}/{name}.parquet')")
    return con


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_demo_profiles_are_the_rulebooks_and_pay_their_liabilities() -> None:
    assert sorted(DEMO_PROFILES) == available_profiles()
    for name in DEMO_PROFILES:
        assert {b.code for b in PLANS[name].benefits} == load_profile(name).liability_codes


def test_every_contract_table_and_column_has_its_arrow_type(sanming: DemoSummary) -> None:
    for table in schema.TABLES:
        if table.name in ("enrollment", "claims"):
            parts = sorted((sanming.path / table.name).glob("policy_year=*/part-*.parquet"))
            years = sorted({int(p.parent.name.split("=")[1]) for p in parts})
            assert years == list(sanming.years)
            # The partition column lives in the folder name only (DuckDB refuses duplicates).
            expected = [c for c in table.columns if c.name != "policy_year"]
        else:
            parts = [sanming.path / f"{table.name}.parquet"]
            expected = list(table.columns)
        for part in parts:
            file_schema = pq.read_schema(part)
            assert file_schema.names == [c.name for c in expected], part
            for column in expected:
                assert file_schema.field(column.name).type == EXPECTED_TYPE[column.kind], (
                    part, column.name)


def test_same_seed_gives_the_same_bytes_and_another_seed_other_data(tmp_path: Path) -> None:
    first = write_demo(tmp_path / "a", "sanming-2024", seed=7, scale=SMALL)
    second = write_demo(tmp_path / "b", "sanming-2024", seed=7, scale=SMALL)
    other = write_demo(tmp_path / "c", "sanming-2024", seed=8, scale=SMALL)
    assert _digest(first.path) == _digest(second.path)
    assert _digest(first.path) != _digest(other.path)
    assert first.row_counts == second.row_counts


def test_duckdb_reads_the_hive_folders(sanming: DemoSummary) -> None:
    con = _connect(sanming.path)
    for name in ("enrollment", "claims"):
        rows = con.execute(f"select policy_year, count(*) from {name} group by 1 order by 1")
        counts = rows.fetchall()
        assert [year for year, _ in counts] == list(sanming.years)
        assert sum(n for _, n in counts) == sanming.row_counts[name]


def test_participation_by_county_is_spread_with_some_under_the_floor(sanming: DemoSummary,
                                                                     hunan: DemoSummary) -> None:
    for summary in (sanming, hunan):
        rates = _connect(summary.path).execute("""
            with enrolled as (
                select policy_year, county_code, count(*) as n
                from enrollment where status = 'active' group by all
            )
            select b.policy_year, b.county_code, coalesce(any_value(e.n), 0) / sum(b.insured_count)
            from basic_insured as b
            left join enrolled as e using (policy_year, county_code)
            group by all
        """).fetchall()
        for year in summary.years:
            of_year = [rate for y, _, rate in rates if y == year]
            assert all(0.03 <= rate <= 0.50 for rate in of_year), (summary.profile, year)
            assert any(rate < 0.20 for rate in of_year), (summary.profile, year)


def test_claims_belong_to_active_members_of_the_same_year_and_county(sanming: DemoSummary,
                                                                     hunan: DemoSummary) -> None:
    for summary in (sanming, hunan):
        con = _connect(summary.path)
        orphans = con.execute("""
            select count(*) from claims as c
            left join enrollment as e
              on e.member_id = c.member_id and e.policy_year = c.policy_year
             and e.county_code = c.county_code and e.status = 'active'
            where e.member_id is null
        """).fetchall()[0][0]
        assert orphans == 0
        assert con.execute("select count(*) from claims").fetchall()[0][0] > 0


def test_claims_respect_the_contract_row_rules(hunan: DemoSummary) -> None:
    broken = _connect(hunan.path).execute("""
        select
            count(*) filter (where service_date not between make_date(policy_year::int, 1, 1)
                                                       and make_date(policy_year::int, 12, 31)),
            count(*) filter (where report_date < service_date or settle_date < report_date),
            count(*) filter (where status = 'paid' and settle_date is null),
            count(*) filter (where status <> 'paid' and paid_amount > 0),
            count(*) filter (where paid_amount > eligible_amount),
            count(*) filter (where eligible_amount
                                   > total_cost - basic_paid - critical_paid - assistance_paid),
            count(*) - count(distinct claim_id)
        from claims
    """).fetchall()[0]
    assert broken == (0, 0, 0, 0, 0, 0, 0)


# --- Settlement lags -------------------------------------------------------------------------
# Days from report to settlement, as the demo draws them, and the bounds they are held to:
# (median at least, median at most, 95th percentile at least, 95th percentile at most).
LAG_BOUNDS = {
    "one_stop": (5, 14, 10, 30),  # settled with the hospital within the month
    "lump_sum": (14, 30, 30, 61),  # a diagnosis benefit: two to four weeks, two months at most
    "outpatient": (30, 45, 61, 92),  # receipts filed by hand: one to three months
    "inpatient": (30, 75, 92, 183),  # a stay filed by hand: one to six months
    "large": (120, 210, 365, 548),  # the costliest bills: four to seven months, up to two years
}
LONGEST_LAG = 730
# A liability's claims below its median cost, filed by hand or not, settle within (days, 95 %):
SMALL_CLAIMS_P95 = {"inpatient": 183, "outpatient": 92, "drugs": 92, "lump_sum": 92}


def test_settlement_lags_follow_the_stated_law() -> None:
    assert set(SETTLEMENT_LAGS) == set(LAG_BOUNDS)
    uniform = np.random.default_rng(0).random(100_000)
    for index, (kind, lag) in enumerate(SETTLEMENT_LAGS.items()):
        days = settlement_days(np.full(len(uniform), index), uniform)
        median_low, median_high, p95_low, p95_high = LAG_BOUNDS[kind]
        assert median_low <= np.median(days) <= median_high, kind
        assert p95_low <= np.quantile(days, 0.95) <= p95_high, kind
        assert lag.shortest <= days.min() and days.max() <= lag.longest <= LONGEST_LAG, kind
    large = settlement_days(np.full(len(uniform), list(SETTLEMENT_LAGS).index("large")), uniform)
    assert (large > 365).mean() > 0.05  # a long tail: some large bills take more than a year
    assert large.max() == LONGEST_LAG  # and it reaches two years


def _lags_by_size(summary: DemoSummary) -> list[tuple[str, bool, int, int, float, float, int]]:
    """(liability, large, claims, pending, median, 95th percentile, longest) of the claims below
    their liability's median cost (small) or in its top 2 % (large), per policy year, reported at
    least two years before the cut: all of them decided by then, so no lag is cut short."""
    return _connect(summary.path).execute("""
        with ranked as (
            select liability, status, report_date,
                   datediff('day', report_date, settle_date) as days,
                   percent_rank() over (partition by policy_year, liability
                                        order by eligible_amount) as cost_rank
            from claims
        )
        select liability, cost_rank >= 0.98 as large, count(*),
               count(*) filter (where status = 'pending'),
               median(days), quantile_cont(days, 0.95), max(days)
        from ranked
        where (cost_rank < 0.5 or cost_rank >= 0.98) and report_date <= $settled
        group by all
        order by all
    """, {"settled": summary.as_of - timedelta(days=LONGEST_LAG)}).fetchall()


def test_claims_settle_later_the_costlier_they_are(demos: dict[str, DemoSummary]) -> None:
    large_days: list[tuple[int, float, float, int]] = []
    for name, summary in demos.items():
        settlement = {b.code: b.settlement for b in PLANS[name].benefits}
        for liability, large, claims, pending, median, p95, longest in _lags_by_size(summary):
            assert pending == 0, (name, liability)
            assert longest <= LONGEST_LAG, (name, liability)
            if liability not in settlement or claims < 30:
                continue  # the planted undefined code; too few claims for a 95th percentile
            if large:
                assert 90 <= median <= 270, (name, liability, median)
                large_days.append((claims, median, p95, longest))
            else:
                assert median <= 30, (name, liability, median)
                assert p95 <= SMALL_CLAIMS_P95[settlement[liability]], (name, liability, p95)
    assert large_days, "no liability with enough large claims"
    # All large bills of all demos: months to settle, up to two years.
    pooled = _connect_all(demos).execute("""
        with ranked as (
            select demo, liability, status, report_date, as_of,
                   datediff('day', report_date, settle_date) as days,
                   percent_rank() over (partition by demo, policy_year, liability
                                        order by eligible_amount) as cost_rank
            from claims
            where liability <> 'cancer_lump_sum'  -- one fixed amount: no size to rank
        )
        select count(*), median(days), quantile_cont(days, 0.95), max(days)
        from ranked
        where cost_rank >= 0.98 and report_date <= as_of - interval 730 day
    """).fetchall()[0]
    count, median, p95, longest = pooled
    assert count >= 100
    assert 90 <= median <= 270
    assert 270 <= p95 <= LONGEST_LAG
    assert longest <= LONGEST_LAG


def _connect_all(demos: dict[str, DemoSummary]) -> duckdb.DuckDBPyConnection:
    """One `claims` view over every demo, with its name and as-of date."""
    con = duckdb.connect()
    selects = [
        f"select '{name}' as demo, date '{summary.as_of}' as as_of, * from read_parquet("
        f"'{summary.path}/claims/**/*.parquet', hive_partitioning = true)"
        for name, summary in demos.items()
    ]
    con.execute("create view claims as " + " union all by name ".join(selects))
    return con


def test_every_ended_year_is_still_being_paid_after_it_ends(
        demos: dict[str, DemoSummary]) -> None:
    """A year's claims are paid into the next years: at year grain every demo's triangle has a
    second development period, and at month grain a tail past the following June."""
    rows = _connect_all(demos).execute("""
        select demo, policy_year, as_of,
               sum(paid_amount) filter (where year(settle_date) > policy_year)
                   / sum(paid_amount) as after_december,
               sum(paid_amount) filter (where settle_date > make_date(policy_year::int + 1, 6, 30))
                   / sum(paid_amount) as after_june,
               max(year(settle_date) - policy_year) + 1 as periods
        from claims
        where status = 'paid'
        group by all
        order by all
    """).fetchall()
    ended = [r for r in rows if r[2] >= date(r[1], 12, 31)]
    assert {r[0] for r in ended} == set(DEMO_PROFILES)
    for demo, year, _, after_december, _, periods in ended:
        assert after_december >= 0.05, (demo, year, after_december)
        assert periods >= 2, (demo, year)
    # Years ended a year or more before the cut are still paid after June of the next year.
    mature = [r for r in rows if r[2] >= date(r[1] + 1, 12, 31)]
    assert {r[0] for r in mature} == set(DEMO_PROFILES)
    assert all(after_june > 0 for _, _, _, _, after_june, _ in mature)
    paid = _connect_all(demos).execute("""
        select sum(paid_amount) filter (where settle_date > make_date(policy_year::int + 1, 6, 30))
               / sum(paid_amount)
        from claims
        where status = 'paid' and as_of >= make_date(policy_year::int + 1, 12, 31)
    """).fetchall()[0][0]
    assert paid >= 0.02


def test_recent_claims_are_pending_at_the_cut_and_old_ones_settled(
        demos: dict[str, DemoSummary]) -> None:
    rows = _connect_all(demos).execute("""
        select demo,
               avg((status = 'pending')::int) filter (where report_date > as_of - 91),
               count(*) filter (where status = 'pending' and report_date <= as_of - 91),
               count(*) filter (where status = 'pending' and report_date <= as_of - 730),
               count(*) filter (where status <> 'pending' and settle_date > as_of)
        from claims
        group by all
    """).fetchall()
    assert {r[0] for r in rows} == set(DEMO_PROFILES)
    for demo, recent, in_review, overdue, after_cut in rows:
        assert recent >= 0.15, (demo, recent)  # reported in the last three months
        assert in_review > 0, demo  # large bills reported months ago, still under review
        assert overdue == 0, demo  # nothing waits more than two years
        assert after_cut == 0, demo  # a claim settled after the cut is pending at it


def test_demo_json_knows_what_the_years_will_have_paid(demos: dict[str, DemoSummary]) -> None:
    for name, summary in demos.items():
        for figures in summary.figures:
            assert figures.claims_ultimate >= figures.claims_paid, (name, figures.policy_year)
        latest = summary.figures[-1]
        assert latest.claims_ultimate > 1.05 * latest.claims_paid, name  # still developing


def test_the_validator_accepts_every_row_and_warns_only_of_the_planted_code(
        demos: dict[str, DemoSummary], capsys: pytest.CaptureFixture[str]) -> None:
    for name, summary in demos.items():
        assert main(["validate", str(summary.path), "--profile", name, "--format", "json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["fatal"] == [] and report["errors"] == [], name
        assert all(t["rows_quarantined"] == 0 for t in report["tables"].values()), name
        planted = [b for b in summary.planted if b.kind == "undefined_liability"]
        warned = [(w["rule"], w["rows"]) for w in report["warnings"]]
        assert warned == [("unknown_liability", int(b.detail.split()[0])) for b in planted], name


def test_members_are_pseudonymous_and_renew(sanming: DemoSummary) -> None:
    con = _connect(sanming.path)
    ids = [row[0] for row in con.execute("select distinct member_id from enrollment").fetchall()]
    assert all(re.fullmatch(r"M[0-9a-f]{12}", member_id) for member_id in ids)
    duplicates = con.execute("select count(*) - count(distinct (policy_year, member_id)) "
                             "from enrollment").fetchall()[0][0]
    assert duplicates == 0
    renewed = con.execute("""
        select avg((b.member_id is not null)::int) from enrollment as a
        left join enrollment as b on b.member_id = a.member_id and b.policy_year = a.policy_year + 1
        where a.policy_year = 2022
    """).fetchall()[0][0]
    assert renewed > 0.5


def test_coinsurance_shares_sum_to_one_with_one_lead(hunan: DemoSummary) -> None:
    rows = _connect(hunan.path).execute("""
        select policy_year, sum(share), count(*) filter (where role = 'lead')
        from insurers group by 1 order by 1
    """).fetchall()
    assert [year for year, _, _ in rows] == list(hunan.years)
    for _, total, leads in rows:
        assert total == pytest.approx(1.0, abs=1e-9)
        assert leads == 1


def test_hunan_2026_is_in_progress_with_pending_claims_near_the_cut(hunan: DemoSummary) -> None:
    assert hunan.as_of == date(2026, 11, 15)
    con = _connect(hunan.path)
    pending = con.execute("""
        select count(*), max(report_date), count(settle_date), sum(paid_amount)
        from claims where policy_year = 2026 and status = 'pending'
    """).fetchall()[0]
    count, last_report, settled, paid = pending
    assert count > 0
    assert last_report == hunan.as_of  # the cut is the last date in the data
    assert settled == 0
    assert paid == 0
    latest = con.execute("""
        select greatest(max(report_date), max(settle_date)) from claims
    """).fetchall()[0][0]
    assert latest == hunan.as_of


def test_hunan_loss_ratios_hit_the_planted_targets(hunan: DemoSummary) -> None:
    rows = _connect(hunan.path).execute("""
        with written as (
            select policy_year, sum(premium - refund_amount) as premium
            from enrollment group by 1
        ), paid as (
            select policy_year, sum(paid_amount) as paid
            from claims where status = 'paid' group by 1
        )
        select policy_year, paid / premium from written join paid using (policy_year) order by 1
    """).fetchall()
    ratios = {year: float(ratio) for year, ratio in rows}
    assert ratios[2024] == pytest.approx(0.78, abs=0.005)  # surplus fills the pool
    assert ratios[2025] == pytest.approx(0.98, abs=0.005)  # a loss draws it
    # 2026 is earned up to the cut only: paid / written is the target times 319/365.
    assert ratios[2026] == pytest.approx(0.84 * 319 / 365, abs=0.005)
    assert float(_connect(hunan.path).execute(
        "select max(premium) from enrollment where policy_year = 2026").fetchall()[0][0]) == 219


def test_sanming_planted_breaches_are_in_the_data(sanming: DemoSummary) -> None:
    con = _connect(sanming.path)
    late = con.execute("select count(*) from enrollment "
                       "where policy_year = 2023 and enroll_date > date '2022-12-31'")
    assert late.fetchall()[0][0] >= 3
    shortfalls = con.execute("""
        with enrolled as (
            select policy_year, county_code, subsidy_group, count(*) as n
            from enrollment where subsidy_group is not null group by all
        )
        select s.policy_year, count(*) from subsidy_eligible as s
        left join enrolled as e using (policy_year, county_code, subsidy_group)
        where coalesce(e.n, 0) < s.eligible_count
        group by 1
    """).fetchall()
    assert [year for year, _ in shortfalls] == [2023]
    kinds = {b.kind for b in sanming.planted}
    assert {"enrolment_after_deadline", "subsidised_not_enrolled"} <= kinds


def test_demo_json_describes_the_folder(sanming: DemoSummary) -> None:
    facts = json.loads((sanming.path / "demo.json").read_text(encoding="utf-8"))
    assert facts["profile"] == "sanming-2024"
    assert facts["as_of"] == "2025-03-31"
    assert facts["years"] == [2022, 2023, 2024]
    assert facts["row_counts"] == sanming.row_counts
    assert len(facts["planted"]) == len(sanming.planted)


def test_progress_runs_to_one(tmp_path: Path) -> None:
    seen: list[float] = []
    write_demo(tmp_path / "demo", "nantong-2021", scale=SMALL,
               progress=lambda fraction, message: seen.append(fraction))
    assert seen == sorted(seen)
    assert seen[-1] == 1.0


def test_ensure_demo_writes_once(tmp_path: Path) -> None:
    path = ensure_demo("shenyang-2021", tmp_path)
    assert path == tmp_path / "shenyang-2021"
    stamp = (path / "demo.json").stat().st_mtime_ns
    assert ensure_demo("shenyang-2021", tmp_path) == path
    assert (path / "demo.json").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == ["shenyang-2021"]  # no staging left behind


def test_a_folder_that_is_not_a_demo_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError):
        write_demo(tmp_path, "sanming-2024", scale=SMALL)
    assert (tmp_path / "mine.txt").read_text(encoding="utf-8") == "keep me"


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no demo for profile"):
        write_demo(tmp_path / "x", "beijing-2030")


def test_ensure_demo_writes_again_what_another_generator_wrote(tmp_path: Path) -> None:
    """An old checkout's demo folder (another generator's stamp, or none) is replaced, so the
    app never shows data its code would not make; the current one is kept."""
    path = ensure_demo("shenyang-2021", tmp_path)
    summary = json.loads((path / "demo.json").read_text(encoding="utf-8"))
    assert summary["generator"] == generator_stamp("shenyang-2021")
    for stale in ("0123456789abcdef", None):
        if stale is None:
            summary.pop("generator")
        else:
            summary["generator"] = stale
        (path / "demo.json").write_text(json.dumps(summary), encoding="utf-8")
        (path / "claims" / "left-by-the-old-generator.txt").write_text("old", encoding="utf-8")
        assert ensure_demo("shenyang-2021", tmp_path) == path
        assert not (path / "claims" / "left-by-the-old-generator.txt").exists()
        rewritten = json.loads((path / "demo.json").read_text(encoding="utf-8"))
        assert rewritten["generator"] == generator_stamp("shenyang-2021")
    assert [p.name for p in tmp_path.iterdir()] == ["shenyang-2021"]
