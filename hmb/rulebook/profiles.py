"""Rulebook profiles: the numbers a jurisdiction's policy document fixes, typed and strict.

A profile is a TOML file under ``data/rulebooks/``. It loads into frozen pydantic models that reject
unknown keys, so a misspelt parameter fails loudly instead of silently taking a default. Every
parameter either quotes the sentence of the document it comes from or says it is a local parameter.

Nothing in a rulebook may switch a rule off quietly: a threshold or a numeric parameter is a
finite number written as a number (``nan``, ``inf``, ``true`` and ``"0.20"`` are refused; an
integer such as ``5`` is the number 5), within the range its unit allows; a rule names a metric
the engine measures (:data:`RULE_METRICS`), in a scope, unit, timing and projection that metric
has; its thresholds are in the order its comparison reads. Every problem is reported at load, in
one :class:`ProfileError` naming the file, the rule or parameter and the field.

A shipped rulebook is loaded by its name only (:func:`load_profile`: ``sanming-2024``, never a
path, never a symbolic link); a bureau's own file goes through :func:`load_rulebook`, checked by
the same models, under a name no shipped rulebook has.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from hmb.core.labels import ENUMS
from hmb.core.paths import PROJECT_ROOT, RULEBOOKS_DIR

SurplusDestination = Literal[
    "health_management_fund",  # 三明: 超过部分设立健康管理基金
    "carry_forward_pool",  # 湖南: 结余部分结转资金池
    "premium_cut",  # 南通: 下调下一年度保费标准或提高保障待遇
    "next_period_adjustment",  # 温州: 调整下一保险期间的保险责任和待遇水平
    "none",
]


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- numbers as a rulebook may write them -------------------------------------------------------

NOT_A_NUMBER = (
    "须写成数字（不加引号、不写百分号，也不能是 true/false），如 0.03 表示 3%"
    " must be written as a number (no quotes, no %, not true/false), e.g. 0.03 for 3 %"
)
NOT_FINITE = "须为有限数（不能是 nan 或 inf） must be a finite number (not nan or inf)"


def _finite(value: object) -> int | float:
    """A TOML integer or float that is finite; a bool (a subclass of int) or a text is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(NOT_A_NUMBER)
    if not math.isfinite(value):
        raise ValueError(NOT_FINITE)
    return value


def _within(low: float | None, high: float | None, *, above: bool = False) -> AfterValidator:
    """A number in [low, high] (or above ``low`` when ``above``), said in both languages."""

    def check(value: float) -> float:
        if low is not None and (value <= low if above else value < low):
            zh, en = ("须大于", "must be above") if above else ("须不小于", "must be at least")
            raise ValueError(f"{zh} {low:g} {en} {low:g}")
        if high is not None and value > high:
            raise ValueError(f"须不大于 {high:g} must be at most {high:g}")
        return value

    return AfterValidator(check)


# Numbers of parameters keep their form (150 stays 150, as the generated pages print it).
Positive = Annotated[int | float, BeforeValidator(_finite), _within(0, None, above=True)]
NonNegative = Annotated[int | float, BeforeValidator(_finite), _within(0, None)]
Fraction = Annotated[int | float, BeforeValidator(_finite), _within(0, 1)]
# A threshold, always a float (a rule's ``critical = 5`` is 5.0).
Threshold = Annotated[float, BeforeValidator(lambda v: float(_finite(v)))]


def _year(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= 2100:
        raise ValueError(
            "须为 2000 至 2100 之间的年份（整数，不加引号） must be a year from 2000 to 2100,"
            " written as a whole number"
        )
    return value


Year = Annotated[int, BeforeValidator(_year)]


def _year_key(value: object) -> int:
    """A year as a key of a TOML table (``by_year = { 2024 = 400 }``), which is always text."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return _year(int(value))
    return _year(value)


YearKey = Annotated[int, BeforeValidator(_year_key)]


def _month_day(value: object) -> str:
    """"MM-DD" of a day that every year has (29 February is not one)."""
    if isinstance(value, str) and re.fullmatch(r"\d{2}-\d{2}", value):
        try:
            date(2023, int(value[:2]), int(value[3:]))
            return value
        except ValueError:
            pass
    raise ValueError(
        '须为每年都有的日期 "MM-DD"，如 "12-31" must be a day every year has, written "MM-DD"'
        ' such as "12-31"'
    )


MonthDay = Annotated[str, BeforeValidator(_month_day)]


class Citation(Strict):
    """Where a number comes from: a clause and the sentence quoted from the seed document."""

    clause: str | None = None
    quote: str | None = None
    local: StrictBool = False
    note: str | None = None

    @model_validator(mode="after")
    def _cited_or_local(self) -> Citation:
        if not self.local and not (self.clause and self.quote):
            raise ValueError("须给出 clause 和 quote，或设 local = true 并在 note 中说明"
                             " give clause and quote, or set local = true and explain in note")
        if self.local and not self.note:
            raise ValueError("本地参数须在 note 中说明由谁确定 a local parameter needs a note"
                             " saying who sets it")
        return self


T = TypeVar("T")


class Parameter(Citation, Generic[T]):
    """A parameter of type ``T`` (a number in its range, a flag, a destination, a day), and its
    values for particular years."""

    value: T | None = None
    by_year: dict[YearKey, T] = Field(default_factory=dict)

    def for_year(self, year: int) -> T | None:
        return self.by_year.get(year, self.value)


class Jurisdiction(Strict):
    name_zh: str
    name_en: str
    adcode: str = Field(pattern=r"^\d{6}$")
    level: Literal["city", "province"]
    province_zh: str

    def contains(self, county_code: str) -> bool:
        """Whether a county (GB/T 2260) lies in the jurisdiction: a city's counties share its
        first four digits, a province's its first two."""
        digits = 4 if self.level == "city" else 2
        return county_code[:digits] == self.adcode[:digits]


class PeriodOfForce(Citation):
    """The policy years a document governs, with the sentence that says so, or ``local = true``
    and a note where the document sets none. A year outside them gets figures but no verdicts.

    ``last_year`` may be left out only as a local reading (a document that sets no end governs
    until it is replaced); ``valid_to`` is the last day the document says it is valid, if it says.
    """

    first_year: Year
    last_year: Year | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PeriodOfForce:
        if self.last_year is not None and self.last_year < self.first_year:
            raise ValueError(
                f"last_year {self.last_year} 早于 first_year {self.first_year}"
                f" the period of force ends before it begins"
            )
        if self.last_year is None and not self.local:
            raise ValueError(
                "没有 last_year 的适用期须设 local = true 并在 note 中说明 a period of force"
                " without last_year is a local reading: set local = true and say why in note"
            )
        if self.valid_to is not None and (
            self.last_year is None or self.valid_to.year != self.last_year
        ):
            raise ValueError(
                f"valid_to {self.valid_to} 须落在 last_year 当年 must fall in last_year"
                f" ({self.last_year})"
            )
        return self

    def governs(self, year: int) -> bool:
        return self.first_year <= year and (self.last_year is None or year <= self.last_year)

    def years_zh(self) -> str:
        if self.last_year is None:
            return f"{self.first_year} 年度起"
        if self.last_year == self.first_year:
            return f"{self.first_year} 年度"
        return f"{self.first_year}–{self.last_year} 年度"

    def years_en(self) -> str:
        if self.last_year is None:
            return f"policy years from {self.first_year}"
        if self.last_year == self.first_year:
            return f"policy year {self.first_year}"
        return f"policy years {self.first_year}–{self.last_year}"


class Document(Strict):
    number: str
    title: str
    seed: str
    issued: str
    issuer: str
    in_force: PeriodOfForce


class Liability(Strict):
    code: str
    name_zh: str
    name_en: str
    clause: str | None = None


class Parameters(Strict):
    premium: Parameter[Positive]  # yuan per member-year
    surplus_margin: Parameter[Fraction]  # a share of earned premium: 0.03 for 3 %
    surplus_destination: Parameter[SurplusDestination]
    keeps_pool: Parameter[StrictBool]
    pool_opening_balance: Parameter[NonNegative]  # yuan
    resident_contribution: Parameter[Positive] | None = None  # 湖南: the ceiling's reference
    campaign_deadline: Parameter[MonthDay] | None = None  # "MM-DD" of the year before cover starts
    # 三明 三（二）: members whose basic insurance is registered outside the jurisdiction (新市民,
    # 港澳台) may enrol; true accepts them into finance, never into participation.
    accepts_insured_elsewhere: Parameter[StrictBool] | None = None

    @model_validator(mode="after")
    def _one_value_where_one_is_read(self) -> Parameters:
        for name in ("surplus_destination", "pool_opening_balance"):
            if getattr(self, name).by_year:
                raise ValueError(
                    f"{name}.by_year: 该参数只读取 value，不按年度取值 only value is read for"
                    f" {name}, never a value by year: remove by_year"
                )
        return self


RuleScope = Literal["jurisdiction", "county", "insurer", "county_group"]
Comparison = Literal["at_least", "at_most", "equal"]
RuleUnit = Literal["rate", "yuan", "count", "days", "insurers"]
RuleWhen = Literal["always", "campaign", "in_year"]
# What the document makes of a rule's thresholds: a duty (不低于/不超过: breached below or above
# it), an aim (力争: missed, never breached, so at most a warning), a duty whose warning threshold
# is an aim (不低于 20%，力争达到 30%), or a condition deciding a benefit tier (reported as the tier
# in force, never as an alert).
RuleKind = Literal["duty", "aim", "duty_with_aim", "condition"]
Projection = Literal["run_rate_14d", "development_from_previous_year"]


@dataclass(frozen=True)
class MetricForm:
    """What a metric a rule can name measures: its unit, the scopes it is observed in, and for a
    projection its method and when it runs."""

    unit: RuleUnit
    scopes: tuple[RuleScope, ...] = ("jurisdiction",)
    projection: Projection | None = None
    when: RuleWhen = "always"


# Every metric a rule may name. The rule engine (hmb.judge.rules.OBSERVERS) observes exactly these,
# but sits above this layer, so the list is kept here and tests/test_profiles.py holds the two
# equal; each has its name in hmb.core.labels.METRICS.
RULE_METRICS: dict[str, MetricForm] = {
    "participation_rate": MetricForm("rate", ("jurisdiction", "county")),
    "projected_participation_rate": MetricForm("rate", ("county",), "run_rate_14d", "campaign"),
    "loss_ratio": MetricForm("rate"),
    "projected_loss_ratio": MetricForm(
        "rate", ("jurisdiction",), "development_from_previous_year", "in_year"
    ),
    "combined_ratio": MetricForm("rate"),
    "profit_rate": MetricForm("rate"),
    "cost_and_profit_rate": MetricForm("rate"),
    "premium_mismatch_count": MetricForm("count"),
    "premium_to_contribution": MetricForm("rate"),
    "preexisting_premium_gap": MetricForm("yuan"),
    "late_enrolment_count": MetricForm("count"),
    "enrolment_window_days": MetricForm("days"),
    "subsidy_coverage": MetricForm("rate", ("county_group",)),
    "insurer_count": MetricForm("insurers"),
    "premium_variation_count": MetricForm("count"),
    "not_one_stop_share": MetricForm("rate"),
    "early_denial_gap": MetricForm("rate"),
    "unfunded_subsidised_count": MetricForm("count", ("county_group",)),
    "mispaid_share": MetricForm("rate", ("jurisdiction", "county")),
}

# The values a threshold may take in each unit. A rate is a fraction (0.20 for 20 %), so 20 is a
# mistake that would switch a floor on everywhere or a ceiling off; counts, days and insurers
# cannot be negative. Money may be (a premium gap), as long as it is finite.
THRESHOLD_RANGES: dict[str, tuple[float | None, float | None]] = {
    "rate": (-10.0, 10.0),
    "count": (0.0, None),
    "days": (0.0, None),
    "insurers": (0.0, None),
    "yuan": (None, None),
}


class RuleCitation(Citation):
    """The clause a rule enforces; the document defaults to the profile's."""


class Rule(Strict):
    """One line of the regulator's checklist: what is measured, where, against what, and why."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title_zh: str
    title_en: str
    metric: str
    scope: RuleScope
    comparison: Comparison
    critical: Threshold | None = None
    warning: Threshold | None = None
    recovery: Threshold | None = None
    unit: RuleUnit
    years: tuple[Year, ...] = ()
    groups: tuple[str, ...] = ()
    liabilities: tuple[str, ...] = ()  # not_one_stop_share: the benefits the clause covers
    when: RuleWhen = "always"
    projection: Projection | None = None
    kind: RuleKind = "duty"
    # The thresholds the document does not state (a reading, a margin of the working group): each
    # is named here, and the citation says why in its note (local = true).
    local_thresholds: tuple[Literal["critical", "warning", "recovery"], ...] = ()
    citation: RuleCitation

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        if metric not in RULE_METRICS:
            raise ValueError(
                f"没有这个指标 no metric '{metric}': a rule measures one of"
                f" {', '.join(RULE_METRICS)}"
            )
        return metric

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, groups: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [g for g in groups if g not in ENUMS["subsidy_group"]]
        if unknown:
            raise ValueError(
                f"没有这个资助类别 no subsidised group {', '.join(unknown)}: use"
                f" {', '.join(ENUMS['subsidy_group'])}"
            )
        return groups

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        problems = (
            self._form_problems() + self._kind_problems() + self._threshold_problems()
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _form_problems(self) -> list[str]:
        """The scope, unit, timing, projection and groups must be the metric's own."""
        form = RULE_METRICS[self.metric]
        problems = []
        if self.scope not in form.scopes:
            problems.append(
                f"scope '{self.scope}' 不适用于该指标 is not a scope of {self.metric}:"
                f" {' or '.join(form.scopes)}"
            )
        if self.unit != form.unit:
            problems.append(f"unit '{self.unit}' 与指标不符 {self.metric} is in '{form.unit}'")
        if self.projection != form.projection:
            wanted = f"'{form.projection}'" if form.projection else "none"
            problems.append(
                f"projection '{self.projection or ''}' 与指标不符 the projection of {self.metric}"
                f" is {wanted}"
            )
        if self.when != form.when:
            problems.append(
                f"when '{self.when}' 与指标不符 {self.metric} is judged '{form.when}'"
            )
        if self.groups and self.metric not in ("subsidy_coverage", "unfunded_subsidised_count"):
            problems.append(
                f"groups 只用于 subsidy_coverage 和 unfunded_subsidised_count groups apply to"
                f" subsidy_coverage and unfunded_subsidised_count only, not to {self.metric}"
            )
        if self.liabilities and self.metric != "not_one_stop_share":
            problems.append(
                f"liabilities 只用于 not_one_stop_share liabilities apply to not_one_stop_share"
                f" only, not to {self.metric}"
            )
        if len(set(self.years)) != len(self.years) or len(set(self.groups)) != len(self.groups):
            problems.append("years/groups 有重复 years or groups repeat a value")
        return problems

    def _kind_problems(self) -> list[str]:
        """What the document makes of the thresholds, and which of them are local."""
        problems = []
        critical, warning = self.critical, self.warning
        for name in self.local_thresholds:
            if getattr(self, name) is None:
                problems.append(f"local_thresholds 列出的 {name} 没有给出 names {name}, which"
                                " the rule does not set")
        if self.local_thresholds and not (self.citation.local and self.citation.note):
            problems.append("local_thresholds 须配合 citation 的 local = true 与 note"
                            " local thresholds need local = true and a note in the citation")
        if self.kind == "aim" and critical is not None:
            problems.append(
                "kind = \"aim\" 不能有 critical 阈值：未达到力争目标不是违规 an aim missed is not a"
                " breach: give it a warning threshold, not a critical one"
            )
        if self.kind == "duty_with_aim" and (critical is None or warning is None):
            problems.append(
                "kind = \"duty_with_aim\" 须有 critical（规定）和 warning（力争目标） needs a"
                " critical threshold (the duty) and a warning threshold (the aim)"
            )
        return problems

    def _threshold_problems(self) -> list[str]:
        """Each threshold in its unit's range, and in the order the comparison reads."""
        problems = []
        if self.critical is None and self.warning is None:
            problems.append("须给出 critical 或 warning 阈值 give a critical or a warning"
                            " threshold")
        low, high = THRESHOLD_RANGES[self.unit]
        for name in ("critical", "warning", "recovery"):
            value = getattr(self, name)
            if value is not None and (
                (low is not None and value < low) or (high is not None and value > high)
            ):
                problems.append(
                    f"{name} = {value:g} 超出单位 {self.unit} 的范围 is outside what a {self.unit}"
                    f" threshold can be ({_range(low, high)}"
                    + ("; a rate is a fraction: 0.20 for 20 %)" if self.unit == "rate" else ")")
                )
        critical, warning, recovery = self.critical, self.warning, self.recovery
        if self.comparison == "equal":
            if critical is not None and warning is not None:
                problems.append(
                    "comparison = \"equal\" 只能有一个阈值 takes one threshold: critical or"
                    " warning, not both"
                )
            if recovery is not None:
                problems.append("recovery 不适用于 equal recovery does not apply to equal")
            return problems
        floor = self.comparison == "at_least"
        if critical is not None and warning is not None and (
            critical > warning if floor else critical < warning
        ):
            problems.append(
                f"warning = {warning:g} 与 critical = {critical:g} 顺序不对 the warning must be"
                f" {'at or above' if floor else 'at or below'} the critical threshold for"
                f" {self.comparison}"
            )
        if recovery is not None:
            if critical is None:
                problems.append("recovery 须与 critical 同时给出 recovery needs a critical"
                                " threshold")
            elif recovery <= critical if floor else recovery >= critical:
                problems.append(
                    f"recovery = {recovery:g} 须在 critical = {critical:g} 的达标一侧 must be"
                    f" {'above' if floor else 'below'} the critical threshold for"
                    f" {self.comparison}, or the alert never recovers past it"
                )
        return problems

    def applies_to(self, year: int) -> bool:
        return not self.years or year in self.years

    def is_local(self, threshold: float) -> bool:
        """Whether ``threshold`` (a value this rule crossed) is one the document does not state."""
        return any(
            getattr(self, name) is not None and abs(float(getattr(self, name)) - threshold) < 1e-12
            for name in self.local_thresholds
        )

    def is_aim(self, severity: str) -> bool:
        """Whether an alert of ``severity`` says an aim was missed rather than a duty breached."""
        return self.kind == "aim" or (self.kind == "duty_with_aim" and severity != "critical")


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


class UnimplementedRule(Strict):
    """A duty of the document that the contract's tables cannot check, and the data it needs."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title_zh: str
    title_en: str
    needs_data: str
    citation: RuleCitation


# -- the benefit table: what each claim should pay (contract §6) -----------------------------------

DeductibleBasis = Literal["annual", "per_claim"]  # 年免赔额 / 按年, or 按次


class AmountCell(Citation):
    """One cell of a benefit table in yuan (a deductible, an annual cap), and where it is read."""

    value: NonNegative


class DeductibleCell(AmountCell):
    """The deductible of a liability, consumed once per member and year (``annual``: 年免赔额,
    按年) or taken off every claim (``per_claim``: 按次)."""

    basis: DeductibleBasis


class RatioCell(Citation):
    """A payout ratio (0.7 for 70 %); 0 where the table says the group is not covered (“/”)."""

    value: Fraction


class CapCell(Citation):
    """An annual cap (年度保额 / 保险金额) per member, liability and year, in yuan; 0 where the
    table says the group is not covered (“/”)."""

    value: NonNegative


class TableRow(Strict):
    """A liability's row of the benefit table: deductible, ratios by health status (and the
    document's exception for assisted persons with pre-existing conditions), annual caps."""

    liability: str
    deductible: DeductibleCell
    ratio_healthy: RatioCell
    ratio_preexisting: RatioCell
    ratio_assisted_preexisting: RatioCell | None = None
    cap_healthy: CapCell
    cap_preexisting: CapCell

    def cells(self) -> tuple[tuple[str, Citation], ...]:
        """The row's cells by name, for checking quotes and for the generated pages."""
        names = ("deductible", "ratio_healthy", "ratio_preexisting",
                 "ratio_assisted_preexisting", "cap_healthy", "cap_preexisting")
        return tuple((n, c) for n in names if (c := getattr(self, n)) is not None)


class AssistedGroups(Citation):
    """Which subsidised groups (``subsidy_group``) the document's 救助对象 are."""

    groups: tuple[str, ...]

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, groups: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [g for g in groups if g not in ENUMS["subsidy_group"]]
        if unknown or not groups or len(set(groups)) != len(groups):
            raise ValueError(
                f"须列出不重复的资助类别 list subsidised groups once each, from"
                f" {', '.join(ENUMS['subsidy_group'])}"
                + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            )
        return groups


class NotAudited(Strict):
    """A liability of the document, or a part of one (``clause``), that the audit cannot
    recompute, and what the data lacks."""

    liability: str
    clause: str
    reason_zh: str = Field(min_length=1)
    reason_en: str = Field(min_length=1)


class BenefitTable(Strict):
    """The benefit table of the document, for the liabilities whose payable can be recomputed
    from the claims and enrolment tables; the others are listed with what the data lacks."""

    rows: tuple[TableRow, ...]
    assisted: AssistedGroups | None = None
    not_audited: tuple[NotAudited, ...] = ()

    @model_validator(mode="after")
    def _coherent(self) -> BenefitTable:
        codes = [row.liability for row in self.rows]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"责任重复 liabilities listed twice: {', '.join(repeated)}")
        exceptions = [r.liability for r in self.rows if r.ratio_assisted_preexisting is not None]
        if exceptions and self.assisted is None:
            raise ValueError(
                "ratio_assisted_preexisting 须有 assisted（救助对象的资助类别） the assisted"
                f" ratio of {', '.join(exceptions)} needs [benefit_table.assisted] groups"
            )
        if self.assisted is not None and not exceptions:
            raise ValueError(
                "assisted 未被任何 ratio_assisted_preexisting 使用 assisted groups are given but"
                " no row has a ratio_assisted_preexisting: remove one or add the other"
            )
        return self


PROFILE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class Profile(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    jurisdiction: Jurisdiction
    document: Document
    parameters: Parameters
    liabilities: tuple[Liability, ...] = ()
    rules: tuple[Rule, ...] = ()
    not_checked: tuple[UnimplementedRule, ...] = ()
    benefit_table: BenefitTable | None = None

    @model_validator(mode="after")
    def _table_liabilities_defined(self) -> Profile:
        if self.benefit_table is None:
            return self
        table = self.benefit_table
        named = [r.liability for r in table.rows] + [n.liability for n in table.not_audited]
        unknown = [c for c in named if c not in self.liability_codes]
        if unknown:
            raise ValueError(
                f"benefit_table: 责任代码未在 [[liabilities]] 中定义 liability"
                f" {', '.join(unknown)} is not one of the rulebook's [[liabilities]]:"
                f" {', '.join(sorted(self.liability_codes))}"
            )
        return self

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Profile:
        ids = [rule.id for rule in self.rules] + [rule.id for rule in self.not_checked]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule ids: {', '.join(duplicates)}")
        return self

    def governs(self, year: int) -> bool:
        """Whether the rulebook's document governs policy year ``year`` (its period of force)."""
        return self.document.in_force.governs(year)

    @model_validator(mode="after")
    def _known_liabilities(self) -> Profile:
        codes = {item.code for item in self.liabilities}
        for rule in self.rules:
            unknown = [code for code in rule.liabilities if code not in codes]
            if unknown:
                raise ValueError(
                    f"rule '{rule.id}': 责任清单中没有 no liability {', '.join(unknown)} in"
                    f" [[liabilities]]: use {', '.join(sorted(codes)) or 'none'}"
                )
        return self

    def rule_on(self, metric: str, scope: str = "jurisdiction") -> Rule | None:
        """The rulebook's standing rule on ``metric`` at ``scope`` (not a campaign-time or
        projection rule), if it has one: the one place a page or a chart asks for a threshold
        to draw. A jurisdiction whose rulebook has none gets none, never another's."""
        return next(
            (r for r in self.rules
             if r.metric == metric and r.scope == scope and r.when == "always"),
            None,
        )

    def margin(self, year: int) -> float | None:
        value = self.parameters.surplus_margin.for_year(year)
        return None if value is None else float(value)

    def keeps_pool(self, year: int) -> bool:
        return bool(self.parameters.keeps_pool.for_year(year))

    @property
    def pool_opening_balance(self) -> float:
        value = self.parameters.pool_opening_balance.value
        return float(value or 0)

    def premium(self, year: int) -> float | None:
        value = self.parameters.premium.for_year(year)
        return None if value is None else float(value)

    @property
    def insured_elsewhere(self) -> str | None:
        """The jurisdiction's code when its rulebook accepts members whose basic insurance is
        registered in a county outside it (``accepts_insured_elsewhere``), else None: what
        validation needs to accept them (hmb.ingest.dataset.open_dataset)."""
        parameter = self.parameters.accepts_insured_elsewhere
        accepted = parameter is not None and bool(parameter.value)
        return self.jurisdiction.adcode if accepted else None

    @property
    def liability_codes(self) -> frozenset[str]:
        return frozenset(item.code for item in self.liabilities)

    _version: str = PrivateAttr(default="")

    @property
    def version(self) -> str:
        """A short hash of the bytes the profile was loaded from: alerts record it so they can be
        reproduced."""
        return self._version


class ProfileError(Exception):
    """A profile that does not exist or does not validate. The message is for the user."""


def rulebook_version(name: str, directory: Path = RULEBOOKS_DIR) -> str:
    """The version of the shipped rulebook ``name`` as loaded (see :attr:`Profile.version`)."""
    return load_profile(name, directory).version


def is_profile_name(name: str) -> bool:
    """A rulebook's name (``sanming-2024``): lower-case letters, digits, ``-`` and ``_``, so
    never a path, ``..`` or a file name with its ``.toml``."""
    return PROFILE_NAME.fullmatch(name) is not None


def available_profiles(directory: Path = RULEBOOKS_DIR) -> list[str]:
    """The shipped rulebooks: regular files named NAME.toml (a symbolic link is not one)."""
    return sorted(
        p.stem for p in directory.glob("*.toml")
        if is_profile_name(p.stem) and p.is_file() and not p.is_symlink()
    )


@cache
def load_profile(name: str, directory: Path = RULEBOOKS_DIR) -> Profile:
    """The shipped rulebook ``name``, from ``directory`` and only from there."""
    known = ", ".join(available_profiles(directory)) or "none"
    if not is_profile_name(name):
        raise ProfileError(
            f"规则配置名称无效 '{_shown(name)}'：只能给出名称，不能给出路径。可用：{known}；"
            f"自定义规则配置文件请在命令行用 --rulebook PATH。 A rulebook is given by its name,"
            f" never by a path: one of {known}. On the command line, a rulebook file of your own"
            " is loaded with --rulebook PATH."
        )
    path = directory / f"{name}.toml"
    if path.is_symlink():
        raise ProfileError(
            f"规则配置 {_where(path)} 是符号链接，已拒绝。 The rulebook {_where(path)} is a"
            " symbolic link and is refused: put the file itself in the rulebooks folder, or load"
            " it with --rulebook PATH."
        )
    if not path.is_file():
        raise ProfileError(f"未知的规则配置 unknown profile '{name}'. Available: {known}.")
    return _load(path, name)


def load_rulebook(path: Path) -> Profile:
    """A rulebook file of one's own, checked as strictly as the shipped ones. Its ``name`` must
    be its file name without ``.toml``, and not the name of a shipped rulebook: alerts are
    recorded by name, and a bureau's variant must not pass for the rulebook it varies."""
    if not path.is_file():
        raise ProfileError(
            f"找不到规则配置文件 {path}。 The rulebook file {path} does not exist or is not a file."
        )
    name = path.stem
    if path.suffix != ".toml" or not is_profile_name(name):
        raise ProfileError(
            f"规则配置文件名无效 {path}：须为 NAME.toml，NAME 只含小写字母、数字、- 和 _。"
            f" The rulebook file {path} must be named NAME.toml, NAME of lower-case letters,"
            " digits, - and _."
        )
    if name in available_profiles():
        raise ProfileError(
            f"规则配置 {path} 与内置规则同名 '{name}'，请另取名称（如 {name}-local）。 The rulebook"
            f" {path} takes the name of the shipped rulebook '{name}': give it a name of its own"
            f" (file and name = \"...\"), such as {name}-local, or use --profile {name}."
        )
    return _load(path, name)


def _load(path: Path, name: str) -> Profile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProfileError(
            f"无法读取规则配置文件 cannot read the rulebook {_where(path)}: {exc.strerror or exc}."
        ) from exc
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(
            f"规则配置文件无法解析 the rulebook {_where(path)} is not valid TOML: {exc}."
            " 请改正该文件 Fix the file and run again."
        ) from exc
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        lines = "\n".join(f"  - {line}" for line in _problems(exc, raw))
        raise ProfileError(
            f"规则配置文件无效，共 {exc.error_count()} 处错误 the rulebook {_where(path)} is"
            f" invalid ({exc.error_count()} problem{'s' if exc.error_count() > 1 else ''}):\n"
            f"{lines}\n请改正该文件后再运行。 Fix the file and run again."
        ) from exc
    if profile.name != name:
        raise ProfileError(
            f"{_where(path)}: name = '{profile.name}' 与文件名不符 does not match the file name"
            f" '{name}'"
        )
    profile._version = hashlib.sha256(data).hexdigest()[:12]
    return profile


def _where(path: Path) -> str:
    """A shipped rulebook by its place in the checkout; another file as it was given."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _shown(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")[:200]


SECTIONS = {"rules": ("规则", "rule"), "not_checked": ("未检查的义务", "duty"),
            "parameters": ("参数", "parameter")}


def _problems(exc: ValidationError, raw: dict[str, Any]) -> list[str]:
    """One line per problem: the rule (by id) or parameter, the field, what is wrong, what was
    written. A number that fails as both an integer and a float is one problem, not two."""
    lines: list[str] = []
    for error in exc.errors():
        place, field = _place(error["loc"], raw)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "未知的键（拼写错误？） unknown key: is it misspelt?"
        elif error["type"] == "missing":
            message = "缺少该项 missing"
        elif error["type"] in ("bool_type", "bool_parsing"):
            message = "须为 true 或 false（不加引号） must be true or false, without quotes"
        elif not re.search(r"[\u4e00-\u9fff]", message):
            message = f"取值无效 {message}"
        shown = (
            f"（所写 given: {_given(error['input'])}）"
            if error["type"] not in ("missing", "extra_forbidden") and field
            else ""
        )
        where = f"{place}, 字段 field {field}" if field else place
        line = f"{where}: {message}{shown}"
        if line not in lines:
            lines.append(line)
    return lines


def _place(loc: tuple[int | str, ...], raw: dict[str, Any]) -> tuple[str, str]:
    """``('rules', 3, 'critical')`` → ('规则 rule county_participation', 'critical'): the
    element named by its id, then the path of the field within it. Steps of the location that
    are not in the file (pydantic's names for the members of a type) are left out."""
    steps: list[str] = []
    node: Any = raw
    for step in loc:
        if isinstance(node, dict) and str(step) in node:
            node = node[str(step)]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        elif isinstance(node, dict) and step != "[key]":
            node = None  # a key the file lacks
        else:
            continue  # a name pydantic gives a member of a type, or a dictionary key's marker
        steps.append(str(step))
    if len(steps) > 2 and steps[:2] == ["benefit_table", "rows"] and steps[2].isdigit():
        row = raw["benefit_table"]["rows"][int(steps[2])]
        code = row.get("liability") if isinstance(row, dict) else None
        label = f"'{code}'" if isinstance(code, str) else f"#{int(steps[2]) + 1}"
        return f"赔付表 benefit table {label}", ".".join(steps[3:])
    if steps and steps[0] in SECTIONS:
        zh, en = SECTIONS[steps[0]]
        if steps[0] == "parameters" and len(steps) > 1:
            return f"{zh} {en} {steps[1]}", ".".join(steps[2:])
        if steps[0] != "parameters" and len(steps) > 1:
            item = raw.get(steps[0], [])[int(steps[1])] if steps[1].isdigit() else None
            ident = item.get("id") if isinstance(item, dict) else None
            label = f"'{ident}'" if isinstance(ident, str) else f"#{int(steps[1]) + 1}"
            return f"{zh} {en} {label}", ".".join(steps[2:])
    return "文件 file", ".".join(steps)


def _given(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{_shown(value)[:60]}"'
    if isinstance(value, dict):
        return "{...}"
    return _shown(repr(value))[:80]
