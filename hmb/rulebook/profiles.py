"""Rulebook profiles: the numbers a jurisdiction's policy document fixes, typed and strict.

A profile is a TOML file under ``data/rulebooks/``. It loads into frozen pydantic models that reject
unknown keys, so a misspelt parameter fails loudly instead of silently taking a default. Every
parameter either quotes the sentence of the document it comes from or says it is a local parameter.
"""

from __future__ import annotations

import hashlib
import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hmb.core.paths import RULEBOOKS_DIR

SurplusDestination = Literal[
    "health_management_fund",  # 三明: 超过部分设立健康管理基金
    "carry_forward_pool",  # 湖南: 结余部分结转资金池
    "premium_cut",  # 南通: 下调下一年度保费标准或提高保障待遇
    "next_period_adjustment",  # 温州: 调整下一保险期间的保险责任和待遇水平
    "none",
]


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Citation(Strict):
    """Where a number comes from: a clause and the sentence quoted from the seed document."""

    clause: str | None = None
    quote: str | None = None
    local: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _cited_or_local(self) -> Citation:
        if not self.local and not (self.clause and self.quote):
            raise ValueError("give clause and quote, or set local = true and explain in note")
        if self.local and not self.note:
            raise ValueError("a local parameter needs a note saying who sets it")
        return self


ParamValue = float | int | bool | str | None


class Parameter(Citation):
    value: ParamValue = None
    by_year: dict[int, ParamValue] = Field(default_factory=dict)

    def for_year(self, year: int) -> ParamValue:
        return self.by_year.get(year, self.value)


class Jurisdiction(Strict):
    name_zh: str
    name_en: str
    adcode: str = Field(pattern=r"^\d{6}$")
    level: Literal["city", "province"]
    province_zh: str


class Document(Strict):
    number: str
    title: str
    seed: str
    issued: str
    issuer: str


class Liability(Strict):
    code: str
    name_zh: str
    name_en: str
    clause: str | None = None


class Parameters(Strict):
    premium: Parameter
    surplus_margin: Parameter
    surplus_destination: Parameter
    keeps_pool: Parameter
    pool_opening_balance: Parameter
    resident_contribution: Parameter | None = None  # 湖南: the premium ceiling's reference
    campaign_deadline: Parameter | None = None  # "MM-DD" of the year before cover starts


RuleScope = Literal["jurisdiction", "county", "insurer", "county_group"]
Comparison = Literal["at_least", "at_most", "equal"]
RuleUnit = Literal["rate", "yuan", "count", "days", "insurers"]
RuleWhen = Literal["always", "campaign", "in_year"]


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
    critical: float | None = None
    warning: float | None = None
    recovery: float | None = None
    unit: RuleUnit
    years: tuple[int, ...] = ()
    groups: tuple[str, ...] = ()
    when: RuleWhen = "always"
    projection: str | None = None
    citation: RuleCitation

    @model_validator(mode="after")
    def _has_threshold(self) -> Rule:
        if self.critical is None and self.warning is None:
            raise ValueError(f"rule {self.id}: give a critical or a warning threshold")
        return self

    def applies_to(self, year: int) -> bool:
        return not self.years or year in self.years


class UnimplementedRule(Strict):
    """A duty of the document that the contract's tables cannot check, and the data it needs."""

    id: str
    title_zh: str
    title_en: str
    needs_data: str
    citation: RuleCitation


class Profile(Strict):
    name: str
    jurisdiction: Jurisdiction
    document: Document
    parameters: Parameters
    liabilities: tuple[Liability, ...] = ()
    rules: tuple[Rule, ...] = ()
    not_checked: tuple[UnimplementedRule, ...] = ()

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Profile:
        ids = [rule.id for rule in self.rules] + [rule.id for rule in self.not_checked]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule ids: {', '.join(duplicates)}")
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
    def liability_codes(self) -> frozenset[str]:
        return frozenset(item.code for item in self.liabilities)


class ProfileError(Exception):
    """A profile that does not exist or does not validate. The message is for the user."""


def rulebook_version(name: str, directory: Path = RULEBOOKS_DIR) -> str:
    """A short hash of the rulebook file: alerts record it so they can be reproduced."""
    return hashlib.sha256((directory / f"{name}.toml").read_bytes()).hexdigest()[:12]


def available_profiles(directory: Path = RULEBOOKS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


@cache
def load_profile(name: str, directory: Path = RULEBOOKS_DIR) -> Profile:
    path = directory / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(available_profiles(directory)) or "none"
        raise ProfileError(f"未知的规则配置 unknown profile '{name}'. Available: {known}.")
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
        profile = Profile.model_validate(raw)
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ProfileError(f"规则配置文件无效 invalid rulebook {path}: {exc}") from exc
    if profile.name != name:
        raise ProfileError(f"{path}: name = '{profile.name}' does not match the file name '{name}'")
    return profile
