"""The input tables of the data contract (docs/contract.md), as data.

One place says which tables and columns exist, which are required, what type each is cast to and
which values an enumeration allows. Loading, validation, the demo generator and the generated
documentation all read it, so they cannot disagree. The names of tables, columns and values, in
Chinese and English, are in hmb.core.labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["integer", "string", "county_code", "amount", "date", "boolean", "share"]

# DuckDB type each kind is cast to. Amounts are DECIMAL so that sums agree to the fen with a
# regulator's spreadsheet; shares stay DOUBLE (they are fractions, not money).
SQL_TYPE: dict[ColumnKind, str] = {
    "integer": "INTEGER",
    "string": "VARCHAR",
    "county_code": "VARCHAR",
    "amount": "DECIMAL(18,2)",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "share": "DOUBLE",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    required: bool
    meaning_zh: str
    meaning_en: str
    allowed: tuple[str, ...] = ()
    default: str | None = None  # SQL literal used when an optional column is absent or null


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    optional: bool = False
    amounts: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def required_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)


SCHEMES = ("employee", "resident")
HEALTH_STATUSES = ("healthy", "preexisting")
SUBSIDY_GROUPS = ("tekun", "dibao", "dibian", "low_income_farmer", "wulao", "orphan", "other")
CHANNELS = ("wechat", "bank", "personal_account", "cash", "employer", "government", "app", "other")
ENROLLMENT_STATUSES = ("active", "cancelled")
CLAIM_STATUSES = ("paid", "denied", "pending")
INSURER_ROLES = ("lead", "member")
EXPENSE_CATEGORIES = ("operations", "promotion", "it", "staff", "reinsurance", "other")
SEXES = ("M", "F")

ENROLLMENT = Table(
    name="enrollment",
    grain="one row per member per policy year",
    key=("policy_year", "member_id"),
    columns=(
        Column(
            "policy_year", "integer", True, "保险年度", "cover runs 1 Jan - 31 Dec of this year"
        ),
        Column(
            "member_id", "string", True, "参保人假名标识", "pseudonymous key, stable across years"
        ),
        Column(
            "county_code",
            "county_code",
            True,
            "基本医保参保地县级行政区划代码",
            "GB/T 2260 code of the county of basic insurance",
        ),
        Column("scheme", "string", True, "基本医保险种", "employee or resident scheme", SCHEMES),
        Column(
            "health_status", "string", True, "健康状况", "healthy or pre-existing", HEALTH_STATUSES
        ),
        Column(
            "subsidy_group",
            "string",
            False,
            "资助参保类别",
            "subsidised group, if any",
            SUBSIDY_GROUPS,
        ),
        Column("premium", "amount", True, "保费（元）", "premium charged"),
        Column(
            "subsidy_amount",
            "amount",
            False,
            "资助金额（元）",
            "part paid by government or charity",
            default="0",
        ),
        Column("channel", "string", True, "缴费渠道", "payment channel", CHANNELS),
        Column("enroll_date", "date", True, "缴费日期", "date the premium was paid"),
        Column("status", "string", True, "保单状态", "active or cancelled", ENROLLMENT_STATUSES),
        Column(
            "refund_amount",
            "amount",
            False,
            "退费金额（元）",
            "refunded on cancellation",
            default="0",
        ),
        Column("sex", "string", False, "性别", "M or F", SEXES),
        Column("birth_year", "integer", False, "出生年份", "year of birth"),
    ),
    amounts=("premium", "subsidy_amount", "refund_amount"),
)

CLAIMS = Table(
    name="claims",
    grain="one row per claim settlement",
    key=("claim_id",),
    columns=(
        Column("claim_id", "string", True, "赔案号", "unique claim id"),
        Column("member_id", "string", True, "参保人假名标识", "pseudonymous member key"),
        Column("policy_year", "integer", True, "保险年度", "policy year that covers the claim"),
        Column("county_code", "county_code", True, "参保地代码", "county of the member"),
        Column("liability", "string", True, "保险责任代码", "benefit code from the rulebook"),
        Column("in_area", "boolean", True, "是否统筹区内就医", "care inside the pooling area"),
        Column("service_date", "date", True, "入院（就诊）日期", "admission or service date"),
        Column("report_date", "date", True, "报案日期", "date the claim was reported"),
        Column("settle_date", "date", False, "结案日期", "date paid or denied; null while pending"),
        Column(
            "total_cost", "amount", True, "医疗总费用（元）", "total medical cost of the episode"
        ),
        Column("basic_paid", "amount", True, "基本医保支付（元）", "paid by basic insurance"),
        Column(
            "critical_paid",
            "amount",
            True,
            "大病保险支付（元）",
            "paid by critical-illness insurance",
        ),
        Column(
            "assistance_paid", "amount", True, "医疗救助支付（元）", "paid by medical assistance"
        ),
        Column(
            "eligible_amount",
            "amount",
            True,
            "责任范围内费用（元）",
            "cost eligible under the liability",
        ),
        Column("paid_amount", "amount", True, "本产品赔付（元）", "paid by this product"),
        Column("status", "string", True, "赔案状态", "paid, denied or pending", CLAIM_STATUSES),
        Column(
            "one_stop", "boolean", True, "是否一站式结算", "settled through one-stop settlement"
        ),
    ),
    amounts=(
        "total_cost",
        "basic_paid",
        "critical_paid",
        "assistance_paid",
        "eligible_amount",
        "paid_amount",
    ),
)

BASIC_INSURED = Table(
    name="basic_insured",
    grain="one row per policy year, county and scheme",
    key=("policy_year", "county_code", "scheme"),
    columns=(
        Column("policy_year", "integer", True, "年度", "policy year"),
        Column("county_code", "county_code", True, "县级行政区划代码", "GB/T 2260 county code"),
        Column("scheme", "string", True, "险种", "employee or resident", SCHEMES),
        Column(
            "insured_count",
            "integer",
            True,
            "基本医保缴交人数",
            "members contributing to basic insurance",
        ),
    ),
)

INSURERS = Table(
    name="insurers",
    grain="one row per policy year and insurer",
    key=("policy_year", "insurer_id"),
    columns=(
        Column("policy_year", "integer", True, "年度", "policy year"),
        Column("insurer_id", "string", True, "保险机构代码", "insurer id"),
        Column("insurer_name", "string", True, "保险机构名称", "insurer name"),
        Column("role", "string", True, "共保角色", "lead or member", INSURER_ROLES),
        Column("share", "share", True, "共保份额", "share of the year (shares sum to 1)"),
    ),
)

EXPENSES = Table(
    name="expenses",
    grain="one row per policy year, insurer and category (or finer)",
    columns=(
        Column("policy_year", "integer", True, "年度", "policy year"),
        Column("insurer_id", "string", True, "保险机构代码", "insurer reporting the cost"),
        Column("category", "string", True, "费用类别", "cost category", EXPENSE_CATEGORIES),
        Column("amount", "amount", True, "金额（元）", "amount, year to date"),
    ),
    amounts=("amount",),
)

SUBSIDY_ELIGIBLE = Table(
    name="subsidy_eligible",
    grain="one row per policy year, county and subsidised group",
    key=("policy_year", "county_code", "subsidy_group"),
    optional=True,
    columns=(
        Column("policy_year", "integer", True, "年度", "policy year"),
        Column("county_code", "county_code", True, "县级行政区划代码", "GB/T 2260 county code"),
        Column("subsidy_group", "string", True, "资助类别", "subsidised group", SUBSIDY_GROUPS),
        Column(
            "eligible_count",
            "integer",
            True,
            "应资助参保人数",
            "people entitled to subsidised enrolment",
        ),
    ),
)

TABLES: tuple[Table, ...] = (
    ENROLLMENT,
    CLAIMS,
    BASIC_INSURED,
    INSURERS,
    EXPENSES,
    SUBSIDY_ELIGIBLE,
)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
