"""Claims development (contract §5): the paid triangle, the chain ladder and Mack's errors.

The published references are reproduced: GenIns (Taylor & Ashe 1983; Mack 1993) from parquet
claims through ``hmb development``, and RAA (which has a negative increment, so it cannot be
written as paid claims) on the triangle itself. Both triangles are the cumulative ones of the
casact chainladder package's data files (genins.csv, raa.csv). The small cases are worked out by
hand in their comments.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from hmb.measure.development import (
    Development,
    OriginRow,
    age,
    chain_ladder,
    development_period,
    is_developing,
)
from tests.builders import (
    Row,
    basic_insured_row,
    claim_row,
    enrollment_row,
    run_cli,
    write_folder,
)

NAN = math.nan

GENINS = [  # cumulative paid, origins 2001–2010, ages 1–10
    [357848, 1124788, 1735330, 2218270, 2745596, 3319994, 3466336, 3606286, 3833515, 3901463],
    [352118, 1236139, 2170033, 3353322, 3799067, 4120063, 4647867, 4914039, 5339085],
    [290507, 1292306, 2218525, 3235179, 3985995, 4132918, 4628910, 4909315],
    [310608, 1418858, 2195047, 3757447, 4029929, 4381982, 4588268],
    [443160, 1136350, 2128333, 2897821, 3402672, 3873311],
    [396132, 1333217, 2180715, 2985752, 3691712],
    [440832, 1288463, 2419861, 3483130],
    [359480, 1421128, 2864498],
    [376686, 1363294],
    [344014],
]
# Mack (1993), Table 2 / the chainladder packages: the standard error of each origin's IBNR.
GENINS_MACK_SE = [0, 75535, 121699, 133549, 261406, 411010, 558317, 875328, 971258, 1363155]

RAA = [  # cumulative, origins 1981–1990; 1982 falls from 15,599 to 15,496 at age 7
    [5012, 8269, 10907, 11805, 13539, 16181, 18009, 18608, 18662, 18834],
    [106, 4285, 5396, 10666, 13782, 15599, 15496, 16169, 16704],
    [3410, 8992, 13873, 16141, 18735, 22214, 22863, 23466],
    [5655, 11555, 15766, 21266, 23425, 26083, 27067],
    [1092, 9565, 15836, 22169, 25955, 26180],
    [1513, 6445, 11702, 12935, 15852],
    [557, 4020, 10946, 12314],
    [1351, 6947, 13112],
    [3133, 5395],
    [2063],
]
RAA_MACK_SE = [0, 206, 623, 747, 1469, 2002, 2209, 5358, 6333, 24566]


def square(rows: list[list[float]]) -> list[list[float]]:
    width = max(len(r) for r in rows)
    return [[float(v) for v in r] + [NAN] * (width - len(r)) for r in rows]


# -- the references ------------------------------------------------------------------------------


def genins_folder(root: Path) -> Path:
    """Policy years 2001–2010, one member each; each increment of GenIns is one paid claim settled
    on 30 June of its development year (age k of origin Y: year Y + k − 1). As of 2010-12-31."""
    enrollment: list[Row] = []
    basic: list[Row] = []
    claims: list[Row] = []
    for offset, row in enumerate(GENINS):
        year = 2001 + offset
        member = f"G{year}"
        enrollment.append(enrollment_row(
            policy_year=year, member_id=member, county_code="430102",
            premium=10_000_000.0, enroll_date=f"{year - 1}-12-01",
        ))
        basic.append(basic_insured_row("430102", 100, policy_year=year))
        for k, (before, after) in enumerate(zip([0, *row], row, strict=False), start=1):
            paid = float(after - before)
            claims.append(claim_row(
                member_id=member, claim_id=f"G{year}-{k}", policy_year=year,
                county_code="430102", liability="in_scope_copay",
                service_date=f"{year}-01-15", report_date=f"{year}-01-20",
                settle_date=f"{year + k - 1}-06-30", total_cost=paid, basic_paid=0.0,
                critical_paid=0.0, eligible_amount=paid, paid_amount=paid,
            ))
    return write_folder(root, enrollment=enrollment, basic_insured=basic, claims=claims)


def development_json(folder: Path, *args: object, profile: str = "hunan-2024") -> Any:
    result = run_cli("development", folder, "--profile", profile, "--format", "json", *args)
    assert result.code == 0, result.err
    return result.json()


def test_genins_from_parquet_claims_reproduces_mack(tmp_path: Path) -> None:
    result = development_json(genins_folder(tmp_path), "--as-of", "2010-12-31")

    assert round(result["total"]["ibnr"]) == 18_680_856
    assert round(result["total"]["mack_se"]) == 2_447_095
    assert [round(o["mack_se"]) for o in result["origins"]] == GENINS_MACK_SE
    assert [o["policy_year"] for o in result["origins"]] == list(range(2001, 2011))
    assert [o["age"] for o in result["origins"]] == list(range(10, 0, -1))
    assert [o["latest"] for o in result["origins"]] == [float(r[-1]) for r in GENINS]
    # The first factor of Mack's Table 2: 3.4906.
    assert result["factors"][0]["from_age"] == 1 and result["factors"][0]["to_age"] == 2
    assert result["factors"][0]["factor"] == pytest.approx(3.4906, abs=5e-5)
    assert len(result["factors"]) == 9


def test_genins_on_the_triangle() -> None:
    projection = chain_ladder(square(GENINS))
    assert projection.total_ibnr is not None and projection.total_mack_se is not None
    assert round(projection.total_ibnr) == 18_680_856
    assert round(projection.total_mack_se) == 2_447_095


def test_raa_with_its_negative_increment_reproduces_mack() -> None:
    projection = chain_ladder(square(RAA))

    assert projection.total_ibnr is not None and projection.total_mack_se is not None
    assert round(projection.total_ibnr) == 52_135
    assert round(projection.total_mack_se) == 26_909
    assert [round(s or 0) for s in projection.mack_se] == RAA_MACK_SE


# -- hand-computed cases -------------------------------------------------------------------------


def test_three_by_three_factors_ultimates_and_errors_by_hand() -> None:
    # age:        1    2    3
    # origin A  100  150  165
    # origin B  200  280
    # origin C  120
    # f1 = (150 + 280) / (100 + 200) = 430/300 = 1.43333…; f2 = 165/150 = 1.1 (A alone).
    # ultimate: A 165 (final); B 280 × 1.1 = 308; C 120 × 430/300 × 1.1 = 172 × 1.1 = 189.2.
    # ibnr: 0, 28, 69.2; total 97.2.
    projection = chain_ladder([[100, 150, 165], [200, 280, NAN], [120, NAN, NAN]])

    assert projection.factors == pytest.approx((430 / 300, 1.1))
    assert projection.ultimate == pytest.approx((165.0, 308.0, 189.2))
    assert projection.ibnr == pytest.approx((0.0, 28.0, 69.2))
    assert projection.total_ibnr == pytest.approx(97.2)
    # σ²1 = [100 (1.5 − 43/30)² + 200 (1.4 − 43/30)²] / (2 − 1) = 100/225 + 200/900 = 2/3.
    # σ²2: one origin only and one earlier estimate, so σ²1 = 2/3 (the bound Mack's rule never
    # exceeds).
    assert projection.sigma2 == pytest.approx((2 / 3, 2 / 3))
    # B: mse = 308² × (2/3) / 1.1² × (1/280 + 1/150) = 94,864 × 0.550964 × 0.0102381 = 535.11.
    b_mse = 308**2 * (2 / 3) / 1.21 * (1 / 280 + 1 / 150)
    assert projection.mack_se[0] == 0
    assert projection.mack_se[1] == pytest.approx(math.sqrt(b_mse))
    assert math.sqrt(b_mse) == pytest.approx(23.1325, abs=1e-4)  # √535.11
    # C: C(2) = 172; mse = 189.2² × [(2/3)/(43/30)² × (1/120 + 1/300)
    #                               + (2/3)/1.1² × (1/172 + 1/150)].
    c_weight = (2 / 3) / (43 / 30) ** 2 * (1 / 120 + 1 / 300) + (2 / 3) / 1.21 * (1 / 172 + 1 / 150)
    assert projection.mack_se[2] == pytest.approx(189.2 * math.sqrt(c_weight))
    # Total: B and C share the ages from 2 on: 2 × 308 × 189.2 × (2/3)/1.21/150.
    total_mse = b_mse + 189.2**2 * c_weight + 2 * 308 * 189.2 * (2 / 3) / 1.21 / 150
    assert projection.total_mack_se == pytest.approx(math.sqrt(total_mse))


def test_three_by_three_with_steady_development_has_no_error() -> None:
    # age:        1    2    3
    # origin A  100  200  220
    # origin B   50  100
    # origin C   10
    # f1 = (200 + 100) / (100 + 50) = 2; f2 = 220/200 = 1.1. Both origins double: σ²1 = 0, and
    # σ²2 = σ²1 = 0. Ultimates 220, 100 × 1.1 = 110, 10 × 2 × 1.1 = 22.
    projection = chain_ladder([[100, 200, 220], [50, 100, NAN], [10, NAN, NAN]])

    assert projection.factors == pytest.approx((2.0, 1.1))
    assert projection.ultimate == pytest.approx((220.0, 110.0, 22.0))
    assert projection.mack_se == (0.0, 0.0, 0.0)
    assert projection.total_mack_se == 0.0


def test_an_origin_that_has_paid_nothing_projects_nothing() -> None:
    # age:        1    2    3
    # origin A  100  150  165
    # origin B  200  280
    # origin C    0            (nothing paid yet: 0 × f1 × f2 = 0, and no error)
    projection = chain_ladder([[100, 150, 165], [200, 280, NAN], [0, NAN, NAN]])

    assert projection.ultimate == pytest.approx((165.0, 308.0, 0.0))
    assert projection.mack_se[2] == 0.0
    assert projection.total_mack_se == pytest.approx(projection.mack_se[1])


def test_a_factor_with_nothing_to_develop_from_is_not_invented() -> None:
    # age:        1    2
    # origin A    0   50     f1 = 50 / 0: undefined, so B (which paid 30 at age 1) has no
    # origin B   30          ultimate, and the total none either: None, never 0.
    projection = chain_ladder([[0, 50], [30, NAN]])

    assert projection.factors == (None,)
    assert projection.ultimate == (50.0, None)
    assert projection.total_ultimate is None and projection.total_mack_se is None


def test_a_triangle_with_a_gap_is_refused() -> None:
    with pytest.raises(ValueError, match="age 1"):
        chain_ladder([[100, NAN, 120], [50, NAN, NAN]])


# -- development periods -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "grain", "period"),
    [
        ("2024-01-01", "year", 1), ("2024-12-31", "year", 1), ("2025-01-01", "year", 2),
        ("2024-03-31", "quarter", 1), ("2024-04-01", "quarter", 2), ("2025-01-15", "quarter", 5),
        ("2024-01-31", "month", 1), ("2024-12-01", "month", 12), ("2026-02-28", "month", 26),
    ],
)
def test_development_periods_count_from_1_january_of_the_policy_year(
    day: str, grain: Any, period: int
) -> None:
    assert development_period(2024, date.fromisoformat(day), grain) == period
    assert age(2024, date.fromisoformat(day), grain) == period


def small_folder(root: Path, county: str = "430102", **enrollment: Any) -> Path:
    """2024: member A; claims paid 100 on 2024-03-31, 200 on 2024-04-01, 400 on 2025-01-15 and
    800 on 2025-03-01 (after the as-of date used below), one pending and one denied; in 芙蓉区
    (湖南) unless another ``county`` is given."""
    return write_folder(
        root,
        basic_insured=[basic_insured_row(county, 100)],
        enrollment=[enrollment_row(member_id="A", county_code=county, **enrollment)],
        claims=[
            claim_row(member_id="A", claim_id=f"P{i}", county_code=county,
                      liability="in_scope_copay", settle_date=settled, paid_amount=paid,
                      eligible_amount=1000.0, report_date="2024-03-05")
            for i, (settled, paid) in enumerate(
                [("2024-03-31", 100.0), ("2024-04-01", 200.0), ("2025-01-15", 400.0),
                 ("2025-03-01", 800.0)]
            )
        ] + [
            claim_row(member_id="A", claim_id="N1", county_code=county,
                      liability="in_scope_copay", status="pending", settle_date=None,
                      paid_amount=0.0),
            claim_row(member_id="A", claim_id="N2", county_code=county,
                      liability="in_scope_copay", status="denied", paid_amount=0.0),
        ],
    )


@pytest.mark.parametrize(("grain", "age_reached"), [("year", 2), ("quarter", 5), ("month", 14)])
def test_the_grain_sets_the_age_and_only_paid_claims_settled_by_as_of_count(
    tmp_path: Path, grain: str, age_reached: int
) -> None:
    result = development_json(small_folder(tmp_path), "--as-of", "2025-02-10", "--grain", grain)

    (origin,) = result["origins"]
    assert result["grain"] == grain and result["basis"] == "paid"
    assert origin["age"] == age_reached
    assert origin["latest"] == 700.0  # 100 + 200 + 400; 800 is paid after the as-of date
    assert origin["ultimate"] == 700.0 and origin["ibnr"] == 0.0  # one origin: nothing to come
    assert len(result["factors"]) == age_reached - 1


def test_the_json_is_the_contracts(tmp_path: Path) -> None:
    result = development_json(small_folder(tmp_path), "--as-of", "2024-12-31")

    assert list(result) == ["profile", "as_of", "grain", "basis", "origins", "total", "factors"]
    assert result["profile"] == "hunan-2024" and result["as_of"] == "2024-12-31"
    assert result["grain"] == "year"
    assert list(result["origins"][0]) == [
        "policy_year", "age", "latest", "ultimate", "ibnr", "mack_se", "earned_premium",
        "projected_loss_ratio", "expected_loss_ratio", "deviation",
    ]
    assert list(result["total"]) == ["latest", "ultimate", "ibnr", "mack_se"]
    origin = result["origins"][0]
    # 湘政办发〔2024〕5号 三: 给付率不低于85%. Paid 300 by 2024-12-31 on 150 earned.
    assert origin["expected_loss_ratio"] == 0.85
    assert origin["earned_premium"] == 150.0
    assert origin["projected_loss_ratio"] == pytest.approx(2.0)
    assert origin["deviation"] == pytest.approx(2.0 - 0.85)


def test_earned_premium_is_earned_at_the_as_of_date(tmp_path: Path) -> None:
    # 150 written for 2024 (366 days); by 2024-03-31, 91 days are earned: 150 × 91/366 = 37.30.
    result = development_json(small_folder(tmp_path), "--as-of", "2024-03-31")

    (origin,) = result["origins"]
    assert origin["earned_premium"] == 37.30
    assert origin["latest"] == 100.0


def test_zero_earned_premium_gives_no_projected_loss_ratio(tmp_path: Path) -> None:
    # The member cancelled with a full refund: written 150 − 150 = 0, earned 0. Her claims stay
    # accepted, so the year has claims and no premium: the ratio is null, never 0 or an error.
    folder = small_folder(tmp_path, status="cancelled", refund_amount=150.0)
    result = development_json(folder, "--as-of", "2024-12-31")

    (origin,) = result["origins"]
    assert origin["earned_premium"] == 0.0 and origin["latest"] == 300.0
    assert origin["projected_loss_ratio"] is None
    assert origin["deviation"] is None
    assert origin["expected_loss_ratio"] == 0.85


def test_a_rulebook_without_a_payout_floor_expects_nothing_and_says_so(tmp_path: Path) -> None:
    folder = small_folder(tmp_path, county="350426")  # 三明's rulebook takes 三明's data only
    result = development_json(folder, "--as-of", "2024-12-31", profile="sanming-2024")
    assert result["origins"][0]["expected_loss_ratio"] is None
    assert result["origins"][0]["deviation"] is None

    text = run_cli("development", folder, "--profile", "sanming-2024", "--as-of", "2024-12-31")
    assert text.code == 0, text.err
    assert "地方参数未设定" in text.out and "local parameter not set" in text.out


def test_the_text_report_is_in_wan_yuan_and_percent(tmp_path: Path) -> None:
    result = run_cli("development", genins_folder(tmp_path), "--profile", "hunan-2024",
                     "--as-of", "2010-12-31")

    assert result.code == 0, result.err
    assert "赔款进展" in result.out and "Claims development" in result.out
    assert "1,868.09 万元" in result.out  # total IBNR 18,680,856 yuan
    assert "85.00%" in result.out
    assert "1→2: 3.4906" in result.out


def test_a_year_not_started_by_the_as_of_date_is_not_an_origin(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path,
        basic_insured=[basic_insured_row("430102", 100),
                       basic_insured_row("430102", 100, policy_year=2025)],
        enrollment=[
            enrollment_row(member_id="A", county_code="430102"),
            enrollment_row(member_id="A", county_code="430102", policy_year=2025,
                           enroll_date="2024-12-01"),
        ],
    )
    result = development_json(folder, "--as-of", "2024-12-31")

    assert [o["policy_year"] for o in result["origins"]] == [2024]
    assert result["origins"][0]["latest"] == 0.0 and result["origins"][0]["ultimate"] == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grain", "week"], "invalid choice"),
        (["--as-of", "2024-13-01"], "YYYY-MM-DD"),
        (["--profile", "atlantis-2024"], "atlantis"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path: Path, args: list[str], message: str) -> None:
    folder = small_folder(tmp_path)
    profile = [] if "--profile" in args else ["--profile", "hunan-2024"]
    result = run_cli("development", folder, *profile, *args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_a_missing_folder_exits_2(tmp_path: Path) -> None:
    result = run_cli("development", tmp_path / "nowhere", "--profile", "hunan-2024")
    assert result.code == 2
    assert "Traceback" not in result.err and result.err


def test_in_a_ragged_triangle_each_lone_factor_extrapolates_from_the_two_before() -> None:
    # Two policy years by quarter: the older at age 6, the younger at age 3. Factors 1→2 and
    # 2→3 rest on both origins; 3→4, 4→5 and 5→6 on the older alone, so each σ² is Mack's rule
    # on the two before it: σ²(3→4) from σ²(1→2) and σ²(2→3), then σ²(4→5) from σ²(2→3) and
    # σ²(3→4), and so on.
    projection = chain_ladder([
        [100, 180, 230, 260, 275, 280],
        [90, 170, 210, NAN, NAN, NAN],
    ])
    s = projection.sigma2
    assert all(v is not None for v in s)
    s0, s1, s2, s3, s4 = (float(v or 0) for v in s)
    assert s2 == pytest.approx(min(s1 * s1 / s0, s0, s1))
    assert s3 == pytest.approx(min(s2 * s2 / s1, s1, s2))
    assert s4 == pytest.approx(min(s3 * s3 / s2, s2, s3))
    assert projection.mack_se[1] is not None and projection.mack_se[1] > 0


@pytest.mark.parametrize("scale", [0.01, 7.0, 1000.0])
def test_scaling_every_amount_scales_the_projection_and_not_the_factors(scale: float) -> None:
    rows = square(GENINS)
    scaled = chain_ladder([[v * scale for v in row] for row in rows])
    plain = chain_ladder(rows)

    assert scaled.factors == pytest.approx(plain.factors)
    assert scaled.ultimate == pytest.approx([u * scale for u in plain.ultimate if u is not None])
    assert scaled.total_ibnr == pytest.approx((plain.total_ibnr or 0) * scale)
    # σ² grows with the amounts, and Ĉ² σ² (1/Ĉ + 1/ΣC) with their square: the error scales too.
    assert scaled.mack_se == pytest.approx([(e or 0) * scale for e in plain.mack_se])
    assert scaled.total_mack_se == pytest.approx((plain.total_mack_se or 0) * scale)


def test_claims_split_over_several_files_give_the_same_triangle(tmp_path: Path) -> None:
    one = development_json(genins_folder(tmp_path / "one"), "--as-of", "2010-12-31")
    # The same rows, written as three files of a claims folder.
    folder = genins_folder(tmp_path / "three")
    table = pq.read_table(folder / "claims.parquet")
    (folder / "claims.parquet").unlink()
    (folder / "claims").mkdir()
    for part in range(3):
        pq.write_table(table.take(list(range(part, table.num_rows, 3))),
                       folder / "claims" / f"part-{part}.parquet")
    three = development_json(folder, "--as-of", "2010-12-31")

    assert three == one


# -- what the page reads: the ± of the loss ratio, the paid ratio, which years still develop ---


def _origin(year: int, age: int, **figures: Any) -> OriginRow:
    base: dict[str, Any] = {"latest": 600.0, "ultimate": 900.0, "ibnr": 300.0, "mack_se": 30.0,
                            "earned_premium": Decimal(1000), "expected_loss_ratio": 0.85,
                            "written_premium": Decimal(1000)}
    return OriginRow(policy_year=year, age=age, **{**base, **figures})


def test_the_error_of_the_loss_ratio_is_mack_s_error_over_earned_premium() -> None:
    row = _origin(2025, 1)
    # 900 / 1000 = 0.9 projected, 600 / 1000 = 0.6 paid, ± 30 / 1000 = 0.03, 0.9 − 0.85 = 0.05
    assert row.projected_loss_ratio == pytest.approx(0.9)
    assert row.paid_loss_ratio == pytest.approx(0.6)
    assert row.loss_ratio_se == pytest.approx(0.03)
    assert row.deviation == pytest.approx(0.05)
    assert _origin(2025, 1, mack_se=None).loss_ratio_se is None
    nothing_earned = _origin(2025, 1, earned_premium=Decimal(0))
    assert nothing_earned.loss_ratio_se is None and nothing_earned.paid_loss_ratio is None


def test_a_whole_year_s_ultimate_is_read_against_the_whole_year_s_premium() -> None:
    """In force, 250 of 1,000 written is earned. Contract §5's ratio is 900 / 250 = 3.6; over
    the written premium 900 / 1,000 = 0.9, ± 30 / 1,000 = 0.03, 0.9 − 0.85 = 0.05. Once the
    year has ended (all earned) the two are the same."""
    row = _origin(2025, 1, earned_premium=Decimal(250))
    assert row.projected_loss_ratio == pytest.approx(3.6)
    assert row.full_year_loss_ratio == pytest.approx(0.9)
    assert row.full_year_loss_ratio_se == pytest.approx(0.03)
    assert row.full_year_deviation == pytest.approx(0.05)
    ended = _origin(2024, 2)
    assert ended.full_year_loss_ratio == ended.projected_loss_ratio
    refunded = _origin(2025, 1, earned_premium=Decimal(0), written_premium=Decimal(0))
    assert refunded.full_year_loss_ratio is None and refunded.full_year_deviation is None
    assert _origin(2025, 1, ultimate=None).full_year_loss_ratio is None


def test_the_text_output_reads_a_year_in_force_against_its_written_premium(
    tmp_path: Path,
) -> None:
    # 150 written for 2024; by 2024-03-31 150 × 91 / 366 = 37.295… is earned. Paid 100 and
    # nothing older to develop from: ultimate 100; 100 / 37.295… = 268.13 % (contract §5),
    # 100 / 150 = 66.67 %.
    running = run_cli("development", small_folder(tmp_path), "--profile", "hunan-2024",
                      "--as-of", "2024-03-31")
    assert running.code == 0, running.err
    assert "2024 年度仍在保险期内" in running.out and "预计最终赔付率 66.67%" in running.out
    assert "268.13%" in running.out and "overstates it" in running.out
    ended = run_cli("development", small_folder(tmp_path / "ended"), "--profile", "hunan-2024",
                    "--as-of", "2024-12-31")
    assert ended.code == 0 and "仍在保险期内" not in ended.out


def test_a_year_develops_for_its_first_24_months_whatever_the_grain() -> None:
    """One notion for the page, the charts and the verdicts: fewer than 24 months from
    1 January of the policy year (MATURE_AGE_MONTHS), not "younger than the oldest year"."""
    rows = (_origin(2023, 3), _origin(2024, 2), _origin(2025, 1))
    result = Development(date(2025, 12, 31), "year", rows, None, ())
    assert result.oldest_age == 3
    # 2023: 36 months; 2024: 24 months (settled); 2025: 12 months.
    assert [result.developing(o) for o in rows] == [False, False, True]
    assert [is_developing(2024, day) for day in (date(2025, 11, 30), date(2025, 12, 1))] == [
        True, False]  # month 23 then month 24
    # The oldest year in the data is developing too when it is young: its paid figure is not
    # final just because no older year exists.
    young = (_origin(2025, 1),)
    assert Development(date(2025, 12, 31), "year", young, None, ()).developing(young[0])
    assert result.origin(2024) is rows[1] and result.origin(2022) is None
    assert [result.in_force(o) for o in rows] == [False, False, True]
    assert not Development(date(2026, 1, 1), "year", rows, None, ()).in_force(rows[2])
    assert Development(date(2025, 12, 31), "year", (), None, ()).oldest_age == 0


def test_the_projected_path_runs_from_the_latest_to_the_ultimate() -> None:
    # Factors 1.5 (age 1 → 2) and 1.1 (2 → 3): 2024 at age 1 with 100 paid goes 100, 150, 165;
    # 2023 at age 2 with 200 goes 200, 220; 2022 is final.
    projection = chain_ladder([[100.0, 150.0, 165.0], [200.0, 300.0, math.nan],
                               [100.0, math.nan, math.nan]])
    assert projection.factors == pytest.approx((1.5, 1.1))
    rows = (_origin(2022, 3, latest=165.0), _origin(2023, 2, latest=300.0),
            _origin(2024, 1, latest=100.0))
    # At 30 November 2024, 2023 has 23 months of development: still developing.
    result = Development(date(2024, 11, 30), "year", rows, projection, ())
    assert result.projected_path(rows[0]) == ()
    assert result.projected_path(rows[1]) == pytest.approx((300.0, 330.0))
    assert result.projected_path(rows[2]) == pytest.approx((100.0, 150.0, 165.0))
    assert result.projected_path(_origin(2024, 1, latest=0.0)) == ()
    # A month later 2023 is settled: no projection drawn, whatever its factors.
    settled = Development(date(2024, 12, 31), "year", rows, projection, ())
    assert settled.projected_path(rows[1]) == ()
    unknown = chain_ladder([[0.0, 150.0], [100.0, math.nan]])  # no factor from nothing paid
    assert unknown.factors == (None,)
    young = _origin(2024, 1, latest=100.0)
    assert Development(date(2024, 12, 31), "year", (_origin(2023, 2), young), unknown,
                       ()).projected_path(young) == ()
