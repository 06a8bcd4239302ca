"""The contract's row rules (§2) as data, and the SQL that marks the rows breaking them.

Rules are data (:data:`ROW_RULES`), so the documentation and the report are generated from the
same list that the SQL is built from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hmb.core.sql import sql_string

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class RuleCheck:
    """One rule as SQL: the predicate over a typed row ``t`` that is true when it is broken."""

    rule: str
    condition: str
    column: str | None

    def hit(self) -> str:
        """The struct {rule, column} when the row breaks the rule, else null."""
        col = sql_string(self.column) if self.column else "null"
        return (
            f"case when {self.condition} then"
            f" {{'rule': {sql_string(self.rule)}, 'column': {col}}} end"
        )

    def broken(self) -> str:
        """A boolean that is never null: the row breaks the rule."""
        return f"coalesce({self.condition}, false)"


@dataclass(frozen=True)
class RowRule:
    """One row-level rule: its id, what it means, and the tables it applies to."""

    id: str
    severity: Severity
    zh: str
    en: str


ROW_RULES: tuple[RowRule, ...] = (
    RowRule("null_required", "error", "必填列为空", "a required column is null or blank"),
    RowRule(
        "unparseable_value",
        "error",
        "值无法转换为规定类型（如日期无法解析）",
        "a value that cannot be cast to the column's type (e.g. a date that does not parse)",
    ),
    RowRule(
        "invalid_value",
        "error",
        "值不在规定的取值范围内（枚举值、6 位区划代码、份额 0–1）",
        "a value outside its enumeration, a county code that is not 6 digits, a share outside 0–1",
    ),
    RowRule("negative_amount", "error", "金额或人数为负", "a negative amount or count"),
    RowRule(
        "duplicate_key", "error", "主键重复（所有重复行都隔离）", "every copy of a duplicated key"
    ),
    RowRule(
        "unknown_county",
        "error",
        "参保地代码不在当年基本医保参保人数表中（规则配置接纳外地参保人员时，辖区外的县级代码除外）",
        "enrollment county_code absent from basic_insured for that year (except a county outside"
        " the jurisdiction where the rulebook accepts members insured elsewhere)",
    ),
    RowRule(
        "claim_without_enrollment",
        "error",
        "赔案对应的参保人当年没有有效投保记录",
        "claim whose member has no accepted enrollment that year",
    ),
    RowRule(
        "service_outside_year",
        "error",
        "就诊日期不在保险年度内",
        "service_date outside the policy year",
    ),
    RowRule(
        "report_before_service", "error", "报案日期早于就诊日期", "report_date before service_date"
    ),
    RowRule(
        "settle_before_report", "error", "结案日期早于报案日期", "settle_date before report_date"
    ),
    RowRule(
        "paid_without_settle_date",
        "error",
        "已赔付但没有结案日期",
        "status paid without a settle_date",
    ),
    RowRule(
        "unpaid_with_amount",
        "error",
        "未赔付状态但赔付金额大于 0",
        "a non-paid claim with paid_amount > 0",
    ),
    RowRule(
        "paid_exceeds_eligible",
        "warning",
        "赔付金额超过责任范围内费用",
        "paid_amount > eligible_amount",
    ),
    RowRule(
        "eligible_exceeds_cost",
        "warning",
        "责任范围内费用超过医疗总费用",
        "eligible_amount > total_cost",
    ),
    RowRule(
        "other_layers_exceed_cost",
        "warning",
        "基本医保、大病保险、医疗救助支付合计超过总费用",
        "basic + critical + assistance payments exceed total_cost",
    ),
    RowRule(
        "unknown_liability",
        "warning",
        "保险责任代码不在规则配置的责任清单中",
        "a liability code the rulebook does not define",
    ),
    RowRule(
        "shares_not_one",
        "warning",
        "当年共保份额合计不等于 1",
        "insurer shares of a year do not sum to 1",
    ),
    RowRule(
        "expense_insurer_not_in_group",
        "warning",
        "费用所属保险机构不在当年共保体中",
        "expense row of an insurer that is not in that year's co-insurance group",
    ),
)
RULES_BY_ID = {rule.id: rule for rule in ROW_RULES}


RULES_OF_ERRORS = (
    "array_to_string(list_sort(list_distinct(list_transform(_errors, lambda e: e.rule))), ',')"
)


def any_broken(checks: list[RuleCheck]) -> str:
    """True when the row breaks at least one of ``checks``."""
    return " or ".join(c.broken() for c in checks) if checks else "false"


def hit_list(checks: list[RuleCheck]) -> str:
    """A SQL list of the {rule, column} structs a row breaks (empty when it breaks none)."""
    if not checks:
        return '[]::struct(rule varchar, "column" varchar)[]'
    return (
        "list_filter([" + ",\n    ".join(c.hit() for c in checks) + "], lambda x: x is not null)"
    )
