"""The names of things, in Chinese and English: one catalogue that every face of the product reads.

The data and the rules call things by codes (``dibao``, ``claims``, ``paid_amount``,
``loss_ratio``); people read names. Pages, charts, the command line and the generated documents
all ask here, so a code reads the same everywhere and in both languages::

    label("subsidy_group", "dibao", "en")  # 'Minimum-allowance recipients'
    label("metric", "loss_ratio", "zh")    # '赔付率'
    label("table", "claims", "zh")         # '理赔明细'
    label("column", "paid_amount", "en")   # 'Paid by this product (yuan)'

The catalogue is a dictionary per kind, code → :class:`Label`:

- :data:`ENUMS`: the values of each enumeration, by its name (``ENUMS["subsidy_group"]``): the
  contract's (hmb.core.schema; :data:`COLUMN_ENUMS` says which column holds which), the alerts'
  severities and states, the users' roles, and the rulebooks' surplus destinations, rule scopes,
  comparisons and timings;
- :data:`TABLES`: the input tables, by name;
- :data:`COLUMNS`: column headers, by column name, for the input tables and for the metric
  frames the pages show (a column that holds a metric is headed by the metric's name);
- :data:`METRICS`: what is measured: the figures of hmb.measure and every metric a rule can name;
- :data:`UNITS`: the units values are given in.

:func:`label` never raises: an unknown kind or code comes back as the code itself (a value a new
export brings shows as what it is), and a missing value (None) as an empty string. English names
are written as headings ("Loss ratio"); a sentence lowers the first letter itself.

Not here, because they are not the code's to name: liability names (each rulebook defines its
own codes, ``[[liabilities]]`` in data/rulebooks/*.toml), rule titles (the rulebooks'
``title_zh``/``title_en``), the meaning of each row rule (on the rule, hmb.ingest.row_rules) and
what a column holds in each table (the contract's wording, ``Column.meaning_zh``/``meaning_en`` in
hmb.core.schema); page text (titles, buttons, notes) lives with the pages in dashboard/i18n.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

EnumKind = Literal[
    "scheme",
    "health_status",
    "subsidy_group",
    "channel",
    "enrollment_status",
    "claim_status",
    "insurer_role",
    "expense_category",
    "sex",
    "severity",
    "alert_state",
    "role",
    "surplus_destination",
    "rule_scope",
    "comparison",
    "rule_when",
    "audit_reason",
]
Kind = EnumKind | Literal["table", "column", "metric", "unit"]


@dataclass(frozen=True)
class Label:
    zh: str
    en: str

    def text(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en

    def with_unit(self, unit: Label) -> Label:
        """'已赚保费' in yuan → '已赚保费（元）', 'Earned premium (yuan)'."""
        return Label(f"{self.zh}（{unit.zh}）", f"{self.en} ({unit.en})")


UNITS: dict[str, Label] = {
    "rate": Label("%", "%"),
    "pp": Label("个百分点", "points"),
    "yuan": Label("元", "yuan"),
    "wan_yuan": Label("万元", "10,000 yuan"),
    "people": Label("人", "people"),
    "count": Label("个", "count"),
    "days": Label("天", "days"),
    "insurers": Label("家", "insurers"),
}

# Keyed by EnumKind (tests/test_labels.py checks both list the same kinds).
ENUMS: dict[str, dict[str, Label]] = {
    # The contract's enumerations (hmb.core.schema).
    "scheme": {
        "employee": Label("职工医保", "Employee scheme"),
        "resident": Label("城乡居民医保", "Resident scheme"),
    },
    "health_status": {
        "healthy": Label("健康人群", "Healthy"),
        "preexisting": Label("既往症人群", "Pre-existing conditions"),
    },
    "subsidy_group": {
        "tekun": Label("特困供养人员", "Destitute persons"),
        "dibao": Label("低保对象", "Minimum-allowance recipients"),
        "dibian": Label("低保边缘人员", "Near-minimum-allowance households"),
        "low_income_farmer": Label("低收入农户", "Low-income farmers"),
        "wulao": Label("革命“五老”人员", "Revolutionary veterans (五老)"),
        "orphan": Label("孤儿", "Orphans"),
        "other": Label("其他资助对象", "Other subsidised"),
    },
    "channel": {
        "wechat": Label("微信", "WeChat"),
        "bank": Label("银行", "Bank"),
        "personal_account": Label("医保个人账户", "Personal medical account"),
        "cash": Label("现金", "Cash"),
        "employer": Label("单位代缴", "Employer"),
        "government": Label("政府代缴", "Government"),
        "app": Label("手机应用", "App"),
        "other": Label("其他", "Other"),
    },
    "enrollment_status": {
        "active": Label("有效", "Active"),
        "cancelled": Label("已退保", "Cancelled"),
    },
    "claim_status": {
        "paid": Label("已赔付", "Paid"),
        "denied": Label("拒赔", "Denied"),
        "pending": Label("未决", "Pending"),
    },
    "insurer_role": {
        "lead": Label("主承保", "Lead insurer"),
        "member": Label("共保成员", "Member"),
    },
    "expense_category": {
        "operations": Label("运营", "Operations"),
        "promotion": Label("宣传推广", "Promotion"),
        "it": Label("信息化", "IT"),
        "staff": Label("人员", "Staff"),
        "reinsurance": Label("再保", "Reinsurance"),
        "other": Label("其他", "Other"),
    },
    "sex": {
        "M": Label("男", "Male"),
        "F": Label("女", "Female"),
    },
    # Alerts (hmb.judge.alerts) and accounts (hmb.access.roles).
    "severity": {
        "critical": Label("严重", "Critical"),
        "warning": Label("预警", "Warning"),
        "info": Label("提示", "Info"),
    },
    "alert_state": {
        "firing": Label("待处理", "Firing"),
        "acknowledged": Label("已确认", "Acknowledged"),
        "waived": Label("已豁免", "Waived"),
        "resolved": Label("已解除", "Resolved"),
    },
    "role": {
        "admin": Label("系统管理员", "Administrator"),
        "city_supervisor": Label("市级医保监管", "City supervisor"),
        "county_supervisor": Label("县级医保监管", "County supervisor"),
        "financial_regulator": Label("金融监管", "Financial regulator"),
        "leadership": Label("工作专班领导", "Leadership"),
    },
    # The rulebooks' vocabulary (hmb.rulebook.profiles). A surplus destination is read after the
    # amount it applies to ("超出部分 12.00 万元应结转资金池"); "none" has nothing to say.
    "surplus_destination": {
        "health_management_fund": Label(
            "应设立健康管理基金", "owed to the health-management fund"
        ),
        "carry_forward_pool": Label("应结转资金池", "to be carried into the pool"),
        "premium_cut": Label(
            "应下调下一年度保费或提高保障待遇", "to lower next year's premium or raise benefits"
        ),
        "next_period_adjustment": Label(
            "应在下一保险期间调节保险责任和待遇", "to be adjusted through next period's benefits"
        ),
    },
    "rule_scope": {
        "jurisdiction": Label("全域（每个保险年度）", "The jurisdiction (each policy year)"),
        "county": Label("每个县（区、市）", "Each county"),
        "insurer": Label("每家保险公司", "Each insurer"),
        "county_group": Label("每个县 × 资助类别", "Each county × subsidised group"),
    },
    "comparison": {
        "at_least": Label("不低于", "at least"),
        "at_most": Label("不高于", "at most"),
        "equal": Label("等于", "equal to"),
    },
    "rule_when": {
        "always": Label("随时", "Always"),
        "campaign": Label("参保期内（预测）", "During the enrolment campaign (projected)"),
        "in_year": Label("保险年度内（预测）", "During the policy year (projected)"),
    },
    # Why a claim is paid off the benefit table (hmb.measure.claims_audit, contract §6).
    "audit_reason": {
        "denied but payable": Label("拒赔但按赔付表应赔", "Denied, yet payable under the table"),
        "annual cap": Label("超过年度保额", "Over the annual cap"),
        "annual deductible": Label("年免赔额未按年扣除", "Annual deductible not taken once a year"),
        "per-claim deductible": Label("未按次扣除免赔额", "Per-claim deductible not taken"),
        "ratio": Label("赔付比例与健康状况不符", "Ratio not the one for the health status"),
        "amount": Label("金额与赔付表不符", "Amount not the table's"),
    },
}

# Which enumeration each enumerated column of the contract holds: (table, column) → kind.
COLUMN_ENUMS: dict[tuple[str, str], EnumKind] = {
    ("enrollment", "scheme"): "scheme",
    ("enrollment", "health_status"): "health_status",
    ("enrollment", "subsidy_group"): "subsidy_group",
    ("enrollment", "channel"): "channel",
    ("enrollment", "status"): "enrollment_status",
    ("enrollment", "sex"): "sex",
    ("claims", "status"): "claim_status",
    ("basic_insured", "scheme"): "scheme",
    ("insurers", "role"): "insurer_role",
    ("expenses", "category"): "expense_category",
    ("subsidy_eligible", "subsidy_group"): "subsidy_group",
}

TABLES: dict[str, Label] = {
    "enrollment": Label("参保（投保）明细", "Enrolments"),
    "claims": Label("理赔明细", "Claims"),
    "basic_insured": Label("基本医保参保（缴交）人数", "Basic-insurance contributors"),
    "insurers": Label("共保体成员", "Co-insurance group"),
    "expenses": Label("运营费用", "Operating expenses"),
    "subsidy_eligible": Label("资助参保应保对象人数", "People entitled to subsidised enrolment"),
}

METRICS: dict[str, Label] = {
    # The figures of hmb.measure.metrics (participation and finance rows).
    "enrolled": Label("参保人数", "Enrolled"),
    "insured_base": Label("基本医保缴交人数", "Basic-insurance base"),
    "written_premium": Label("签单保费", "Written premium"),
    "earned_premium": Label("已赚保费", "Earned premium"),
    "claims_paid": Label("已付赔款", "Claims paid"),
    "expenses": Label("运营费用", "Expenses"),
    "profit": Label("利润", "Profit"),
    "excess_surplus": Label("超额结余", "Excess surplus"),
    "pool_open": Label("资金池年初余额", "Pool opening balance"),
    "pool_draw": Label("资金池动用", "Pool drawn"),
    "pool_close": Label("资金池年末余额", "Pool closing balance"),
    # The metrics a rule can name (hmb.judge.rules.OBSERVERS); some are figures above too.
    "participation_rate": Label("参保率", "Participation rate"),
    "projected_participation_rate": Label("预测参保率", "Projected participation rate"),
    "loss_ratio": Label("赔付率", "Loss ratio"),
    "projected_loss_ratio": Label("预测全年赔付率", "Projected full-year loss ratio"),
    "combined_ratio": Label("综合成本率", "Combined ratio"),
    "profit_rate": Label("利润率", "Profit rate"),
    "cost_and_profit_rate": Label("成本及盈利率", "Cost and profit rate"),
    "premium_mismatch_count": Label("保费不符的保单数", "Policies at another premium"),
    "premium_to_contribution": Label(
        "保费占居民个人缴费比例", "Premium / resident contribution"
    ),
    "preexisting_premium_gap": Label(
        "既往症人群与健康人群保费差", "Pre-existing minus healthy premium"
    ),
    "late_enrolment_count": Label("截止日后缴费人数", "Enrolments after the deadline"),
    "enrolment_window_days": Label("投保期天数", "Enrolment window in days"),
    "subsidy_coverage": Label("资助对象参保覆盖率", "Subsidised-group coverage"),
    "insurer_count": Label("共保体保险公司家数", "Insurers in the group"),
    "premium_variation_count": Label("按其他保费参保的人数", "Enrolments at another premium"),
    "not_one_stop_share": Label("未经一站式结算的赔案占比", "Share of paid claims not one-stop"),
    "early_denial_gap": Label(
        "年初就医赔案拒赔率高出部分", "Early-care denial rate above the later rate"
    ),
    "unfunded_subsidised_count": Label(
        "保费未由财政全额承担的资助对象人数", "Subsidised members not wholly paid for"
    ),
    "mispaid_share": Label("错付金额占已付金额比例", "Mispaid share of the amount paid"),
    # The claims audit's figures (hmb.measure.claims_audit, contract §6).
    "claims_audited": Label("核查理赔件数", "Claims audited"),
    "overpaid_count": Label("多付件数", "Claims overpaid"),
    "overpaid_amount": Label("多付金额", "Overpaid"),
    "underpaid_count": Label("少付件数", "Claims underpaid"),
    "underpaid_amount": Label("少付金额", "Underpaid"),
    "mispaid_amount": Label("错付金额", "Mispaid"),
    # The indicators of hmb.measure.indicators (docs/metrics.md#indicators-监管公开指标).
    "renewal_rate": Label("续保率", "Renewal rate"),
    "personal_account_share": Label("个人账户缴费占比", "Paid from personal accounts"),
    "preexisting_claims_share": Label("既往症人群赔付件数占比",
                                      "Pre-existing members' share of paid claims"),
    "preexisting_payout_share": Label("既往症人群赔付金额占比",
                                      "Pre-existing members' share of payouts"),
    "claimants": Label("赔付人数", "Claimants"),
    "payout_per_claimant": Label("人均赔付", "Payout per claimant"),
    "one_stop_share_by_liability": Label("分责任一站式结算占比", "One-stop share by liability"),
    "one_stop_count_share": Label("一站式结算件数占比", "One-stop share of paid claims"),
    "one_stop_amount_share": Label("一站式结算金额占比", "One-stop share of payouts"),
}

# Metrics in yuan: their columns say so in the header.
MONEY_METRICS = ("written_premium", "earned_premium", "claims_paid", "expenses", "profit",
                 "excess_surplus", "pool_open", "pool_draw", "pool_close", "overpaid_amount",
                 "underpaid_amount", "mispaid_amount")


def _yuan(zh: str, en: str) -> Label:
    return Label(zh, en).with_unit(UNITS["yuan"])


COLUMNS: dict[str, Label] = {
    # Columns that hold a metric are headed by its name (money with its unit).
    **{name: METRICS[name].with_unit(UNITS["yuan"]) for name in MONEY_METRICS},
    **{name: METRICS[name] for name in ("enrolled", "insured_base", "loss_ratio",
                                         "combined_ratio", "profit_rate")},
    "rate": METRICS["participation_rate"],
    "insured_count": METRICS["insured_base"],
    "members": METRICS["enrolled"],
    # Columns of the indicator rows (hmb.measure.indicators).
    "prior_members": Label("上年参保人数", "Enrolled the year before"),
    "renewed": Label("续保人数", "Renewed"),
    "renewal_rate": METRICS["renewal_rate"],
    "personal_account_premium": _yuan("个人账户缴费", "Paid from personal accounts"),
    "personal_account_share": METRICS["personal_account_share"],
    "preexisting_claims": Label("既往症人群赔付件数", "Paid claims of pre-existing members"),
    "preexisting_paid": _yuan("既往症人群赔款", "Paid to pre-existing members"),
    "claims_share": METRICS["preexisting_claims_share"],
    "payout_share": METRICS["preexisting_payout_share"],
    "claimants": METRICS["claimants"],
    "payout_per_claimant": METRICS["payout_per_claimant"].with_unit(UNITS["yuan"]),
    "one_stop_claims": Label("一站式结算件数", "One-stop paid claims"),
    "one_stop_paid": _yuan("一站式结算赔款", "One-stop payouts"),
    "count_share": METRICS["one_stop_count_share"],
    "amount_share": METRICS["one_stop_amount_share"],
    # The contract's input columns (hmb.core.schema).
    "policy_year": Label("保险年度", "Policy year"),
    "member_id": Label("参保人标识", "Member id"),
    "county_code": Label("区划代码", "County code"),
    "scheme": Label("险种", "Scheme"),
    "health_status": Label("健康状况", "Health status"),
    "subsidy_group": Label("资助类别", "Subsidised group"),
    "premium": _yuan("保费", "Premium"),
    "subsidy_amount": _yuan("资助金额", "Subsidy"),
    "channel": Label("缴费渠道", "Payment channel"),
    "enroll_date": Label("缴费日期", "Payment date"),
    "status": Label("状态", "Status"),
    "refund_amount": _yuan("退费金额", "Refund"),
    "sex": Label("性别", "Sex"),
    "birth_year": Label("出生年份", "Birth year"),
    "claim_id": Label("赔案号", "Claim id"),
    "liability": Label("保险责任", "Liability"),
    "in_area": Label("统筹区内就医", "Care in the pooling area"),
    "service_date": Label("入院（就诊）日期", "Service date"),
    "report_date": Label("报案日期", "Report date"),
    "settle_date": Label("结案日期", "Settlement date"),
    "total_cost": _yuan("医疗总费用", "Total cost"),
    "basic_paid": _yuan("基本医保支付", "Paid by basic insurance"),
    "critical_paid": _yuan("大病保险支付", "Paid by critical-illness insurance"),
    "assistance_paid": _yuan("医疗救助支付", "Paid by medical assistance"),
    "eligible_amount": _yuan("责任范围内费用", "Eligible amount"),
    "paid_amount": _yuan("本产品赔付", "Paid by this product"),
    "one_stop": Label("一站式结算", "One-stop settlement"),
    "insurer_id": Label("保险机构代码", "Insurer id"),
    "insurer_name": Label("保险机构", "Insurer"),
    "role": Label("共保角色", "Role"),
    "share": Label("共保份额", "Share"),
    "category": Label("费用类别", "Category"),
    "amount": _yuan("金额", "Amount"),
    "eligible_count": Label("应资助参保人数", "Entitled to subsidy"),
    # Columns of the metric frames and of the pages' tables.
    "county": Label("县（区、市）", "County"),
    "margin": Label("利润率上限", "Margin"),
    "eligible": Label("应参保人数", "Eligible"),
    "coverage": Label("覆盖率", "Coverage"),
    "paid_claims": Label("已赔件数", "Paid claims"),
    "claims": Label("赔案件数", "Claims"),
    "pending": Label("未决件数", "Pending"),
    "table": Label("数据表", "Table"),
    "rule": Label("规则", "Rule"),
    "column": Label("列", "Column"),
    "rows": Label("行数", "Rows"),
    "rows_read": Label("读入行数", "Rows read"),
    "rows_accepted": Label("接受行数", "Accepted"),
    "rows_quarantined": Label("隔离行数", "Quarantined"),
    "rows_with_warnings": Label("警告行数", "With warnings"),
    "id": Label("编号", "Id"),
    "severity": Label("严重程度", "Severity"),
    "state": Label("状态", "State"),
    "scope": Label("范围", "Scope"),
    "message": Label("说明", "What"),
    "local_parameter": Label("本地参数", "Local parameter"),
    "at": Label("时间（UTC）", "At (UTC)"),
    "event": Label("事件", "Event"),
    "from": Label("原状态", "From"),
    "to": Label("新状态", "To"),
    "actor": Label("处理人", "By"),
    "comment": Label("意见", "Comment"),
    # The claims audit's table of mispaid claims.
    "payable": _yuan("按赔付表应付", "Payable under the table"),
    "difference": _yuan("差额（实付 − 应付）", "Difference (paid − payable)"),
    "reason": Label("原因", "Reason"),
    "claims_audited": Label("核查理赔件数", "Claims audited"),
    "overpaid_count": Label("多付件数", "Claims overpaid"),
    "overpaid_amount": _yuan("多付金额", "Overpaid"),
    "underpaid_count": Label("少付件数", "Claims underpaid"),
    "underpaid_amount": _yuan("少付金额", "Underpaid"),
    "mispaid_share": Label("错付金额占已付金额比例", "Mispaid share of the amount paid"),
    "arithmetic": Label("计算过程", "Arithmetic"),
    "clause": Label("条款", "Clause"),
    "observed": Label("观测值", "Observed"),
    "threshold": Label("阈值", "Threshold"),
    "rulebook": Label("规则版本", "Rulebook version"),
    "data": Label("数据指纹", "Data fingerprint"),
}

CATALOGUE: dict[str, dict[str, Label]] = {
    **ENUMS,
    "table": TABLES,
    "column": COLUMNS,
    "metric": METRICS,
    "unit": UNITS,
}


def label(kind: Kind, code: str | None, lang: Lang) -> str:
    """The name of ``code`` in ``lang``; the code itself when the catalogue has no name for it."""
    if code is None:
        return ""
    found = CATALOGUE.get(kind, {}).get(code)
    return code if found is None else found.text(lang)


def names(kind: Kind, lang: Lang) -> dict[str, str]:
    """Every code of a kind with its name, e.g. for ``polars.Expr.replace``."""
    return {code: found.text(lang) for code, found in CATALOGUE.get(kind, {}).items()}
