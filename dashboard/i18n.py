"""The app's own text in Chinese (first) and English: page titles, headings, buttons and notes.
``t(key, lang)`` looks one up. The names of codes (metrics, columns, tables, enumeration values
such as severities and alert states) are not here but in hmb.core.labels, which the command line
and the generated documents read too.
"""

from __future__ import annotations

from hmb.core.labels import LANGS, Lang

__all__ = ["LABELS", "LANGS", "Lang", "t"]

LABELS: dict[str, tuple[str, str]] = {
    # app frame
    "app_title": ("惠民保监测", "HMB Monitor"),
    "language": ("语言", "Language"),
    "jurisdiction": ("统筹地区", "Jurisdiction"),
    "as_of": ("统计截止日", "As of"),
    "all_counties": ("全部", "All"),
    "data_source": ("数据来源", "Data source"),
    "demo_data": ("演示数据", "demo data"),
    "generating_demo": ("正在生成演示数据", "Generating demo data"),
    "no_data": ("该数据文件夹还没有被接受的投保或理赔记录。",
                "The data folder has no accepted enrolment or claim yet."),
    "fatal_input": ("数据有误，无法加载：", "The data folder cannot be loaded:"),
    # registered exports (hmb.state.exports, docs/ingest.md)
    "export_version": ("数据版本", "Export"),
    "export_current": ("当前", "current"),
    "export_history": ("导出登记", "Export history"),
    "export_history_note": ("每次接收的导出：何时、由谁、结果如何；拒收的导出不会成为当前数据。",
                            "Every export ingested: when, by whom, with what result; a refused"
                            " export never becomes the one shown."),
    "export_none": ("尚无登记的导出（正在显示的是数据文件夹或演示数据）。",
                    "No export registered yet (the app shows a data folder or the demo)."),
    "export_gone": ("这一期导出无法再打开：", "This export can no longer be opened:"),
    "since_last": ("自上期数据以来", "Since the last export"),
    "since_last_none": ("自上期数据以来，公布的数字没有变化。",
                        "Since the last export, no published figure moved."),
    "ingest_title": ("接收新导出", "Ingest an export"),
    "ingest_folder": ("服务器上的文件夹", "Folder on the server"),
    "ingest_button": ("校验并接收", "Validate and ingest"),
    "ingest_not_allowed": ("未设置可接收目录（HMB_INGEST_ROOT），请用命令行 hmb ingest。",
                           "HMB_INGEST_ROOT is not set: ingest with `hmb ingest` on the command"
                           " line."),
    "ingest_building": ("正在校验并建库", "Validating and building the store"),
    "ingest_accepted": ("已接收，成为当前数据", "Accepted: now the current export"),
    "ingest_unchanged": ("与当前导出相同，未重复登记", "The same files as the current export:"
                         " nothing new registered"),
    "ingest_refused": ("导出被拒收，当前数据保持不变：",
                       "The export is refused; the current export stays as it was:"),
    "bad_rulebook": ("规则配置无法使用，该统筹地区暂不显示：",
                     "The rulebook cannot be used, so this jurisdiction is not shown:"),
    "bad_local_rulebook": ("HMB_PROFILE 指定的规则配置无法使用，HMB_DATA_DIR 的数据暂不显示：",
                           "The rulebook HMB_PROFILE names cannot be used, so the data of"
                           " HMB_DATA_DIR is not shown:"),
    "document": ("依据", "Rulebook"),
    # pages
    "page_overview": ("总览", "Overview"),
    "page_participation": ("参保", "Participation"),
    "page_claims": ("赔付", "Claims"),
    "page_development": ("精算回溯", "Claims development"),
    "page_claims_audit": ("理赔核查", "Claims audit"),
    "page_costs": ("成本与结余", "Costs and surplus"),
    "page_alerts": ("预警", "Alerts"),
    "page_quality": ("数据质量", "Data quality"),
    "page_rulebook": ("规则", "Rulebook"),
    # headline cards
    "vs_last_year": ("较上年", "vs last year"),
    "threshold": ("规定", "Rule"),
    # overview
    "open_alerts": ("未处理预警", "Open alerts"),
    "summary": ("需要关注", "What needs attention"),
    "brief_download": ("下载工作专班简报（PDF）", "Download the meeting brief (PDF)"),
    "all_clear": ("本年度未发现违反规则的情况。", "No rule is breached this year."),
    "notices": ("情况通报", "Notices"),
    # participation
    "map": ("参保率地图", "Participation map"),
    "ranking": ("各县参保率排名", "Counties ranked by participation"),
    "campaign": ("参保进度", "Enrolment campaign"),
    "subsidy": ("资助参保覆盖", "Subsidised groups"),
    "renewal_and_accounts": ("续保与个人账户缴费", "Renewal and personal accounts"),
    "claimants_section": ("赔付人群", "Who was paid"),
    "one_stop_by_liability": ("分责任一站式结算", "One-stop settlement by liability"),
    "published_figures": ("文件未设定数值，供信息公开（湘政办发〔2024〕5号 四（六））参考。",
                          "No document sets a number for these: figures to publish"
                          " (湘政办发〔2024〕5号 四（六）)."),
    "county_detail": ("区县详情", "County detail"),
    "no_campaign": ("统计截止日不在该年度的集中参保期内。",
                    "The as-of date is not within this year's enrolment campaign."),
    "no_subsidy_data": ("数据中没有资助参保应保人数表（subsidy_eligible）。",
                        "The data has no subsidy_eligible table."),
    # claims
    "by_year": ("按年度", "By year"),
    "by_month": ("按月累计", "Cumulative by month"),
    "by_liability": ("按保险责任", "By liability"),
    "by_county": ("按区县", "By county"),
    "by_insurer": ("按保险公司", "By insurer"),
    "settlement": ("结算时效", "Settlement speed"),
    "median_days": ("报案至结案中位天数", "Median days report → payment"),
    "p90_days": ("90% 分位天数", "90th percentile days"),
    "one_stop_share": ("一站式结算占比", "One-stop share"),
    "pending_claims": ("未决赔案", "Pending claims"),
    "claim_sizes": ("赔款金额分布", "Claim sizes"),
    # claims development
    "grain": ("进展期", "Development period"),
    "grain_year": ("年", "Year"),
    "grain_quarter": ("季度", "Quarter"),
    "grain_month": ("月", "Month"),
    "claims_audit_note": ("按规则配置中的赔付表重算每件已结案理赔的应付金额（免赔额、"
                          "按健康状况的赔付比例及例外、年度保额），列出多付和少付"
                          "（docs/claims_audit.md）。",
                          "Each settled claim's payable recomputed from the rulebook's benefit"
                          " table (deductible, ratio by health status and its exceptions, annual"
                          " cap);"
                          " over- and under-payments listed (docs/claims_audit.md)."),
    "claims_audit_no_table": ("该统筹地区的文件未规定可计算的赔付表，没有可核查的理赔。",
                              "This jurisdiction's document sets no benefit table to compute:"
                              " there is nothing to audit."),
    "audit_by_year": ("按年度", "By policy year"),
    "audit_by_insurer": ("按保险公司（按份额分摊）", "By insurer (split by share)"),
    "audit_by_county": ("按区县", "By county"),
    "audit_by_liability": ("按保险责任", "By liability"),
    "audit_worst": ("差额最大的理赔", "The largest differences"),
    "audit_all_mispaid": ("全部错付理赔", "Every mispaid claim"),
    "audit_not_audited": ("未核查的责任", "Not audited"),
    "development_note": ("已付赔款口径，链梯法（按金额加权），误差为 Mack (1993) 标准误；"
                         "仍在进展的年度为暂定预测。",
                         "Paid basis, volume-weighted chain ladder, errors are Mack's (1993)"
                         " standard errors; years still developing are provisional projections."),
    "expected_not_set": ("要求赔付率为地方参数，规则配置未设定，图中不画参考线、不作比较。",
                         "The expected loss ratio is a local parameter the rulebook does not set:"
                         " no line is drawn and nothing is compared."),
    "development_county": ("仅含您所辖县（区、市）的赔款和保费；单个县的赔款较少，预测误差较大。",
                           "Your counties' claims and premium only: a county has few claims, so"
                           " the projection's error is wide."),
    "in_force": ("{year} 年度仍在保险期内：赔款只覆盖截至统计截止日的部分年度，预测最不确定；"
                 "预计最终赔付率按全年保费计（按截至统计截止日的已赚保费计会高估）。",
                 "Policy year {year} is still running: its claims cover part of the year only, so"
                 " its projection is the least certain; its projected ultimate loss ratio is over"
                 " the year's written premium (over the premium earned so far it would be"
                 " overstated)."),
    "projection_by_year": ("各年度预计最终赔付率", "Projected ultimate loss ratio by year"),
    # costs
    "expense_breakdown": ("费用构成", "Expense breakdown"),
    "surplus_destination": ("结余去向", "Where the surplus goes"),
    "pool_waterfall": ("结余资金池", "Carry-forward pool"),
    "no_pool": ("该规则不设结余资金池。", "This rulebook keeps no carry-forward pool."),
    # alerts
    "select_alert": ("选择预警", "Alert"),
    "any": ("全部", "Any"),
    "acknowledge": ("确认", "Acknowledge"),
    "waive": ("豁免", "Waive"),
    "comment": ("处理意见", "Comment"),
    "reason": ("豁免理由", "Reason"),
    "until": ("豁免至", "Waived until"),
    "history": ("处理记录", "History"),
    "clause": ("条款原文", "Clause"),
    "local_parameter": ("本地参数（非文件规定）", "Local parameter (not the document's)"),
    "done": ("已记录。", "Recorded."),
    "no_alerts": ("没有符合条件的预警。", "No alert matches."),
    "evaluated_latest": ("预警状态按数据最新日期评估并记录；选择的截止日只影响下方的计算。",
                         "Alert states are evaluated and recorded at the data's latest date."),
    # data quality
    "errors": ("隔离规则", "Errors (rows quarantined)"),
    "warnings": ("警告", "Warnings (rows kept)"),
    "download_quarantine": ("下载隔离数据", "Download quarantined rows"),
    "nothing_quarantined": ("没有被隔离的数据行。", "No row was quarantined."),
    # sign-in and roles
    "sign_in": ("登录", "Sign in"),
    "sign_in_oidc": ("使用单位统一身份认证登录", "Sign in with the bureau's identity provider"),
    "username": ("用户名 Username", "Username"),
    "password": ("密码 Password", "Password"),
    "sign_out": ("退出登录", "Sign out"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "demo_account": ("演示账号", "demo account"),
    "demo_accounts_hint": ("演示账号（仅用于演示数据）：{users}，密码 {password}",
                           "Demo accounts (demo data only): {users}, password {password}"),
    "wrong_credentials": ("用户名或密码不正确。", "Wrong username or password."),
    "throttled": ("登录失败次数过多，请 {minutes} 分钟后再试。",
                  "Too many failed sign-ins: please try again in {minutes} minutes."),
    "busy": ("登录请求较多，请稍后再试。", "Many sign-ins at once: please try again shortly."),
    "ended_signed_out": ("您已退出登录。", "You have signed out."),
    "ended_idle": ("长时间未操作，已自动退出，请重新登录。",
                   "Signed out after a period of inactivity: please sign in again."),
    "ended_expired": ("登录已超过有效期，请重新登录。",
                      "The session has reached its time limit: please sign in again."),
    "ended_tampered": ("登录凭证无效，请重新登录。",
                       "The session token is not valid: please sign in again."),
    "ended_stale": ("密码已重置或账号已变更，请重新登录。",
                    "The password was reset or the account changed: please sign in again."),
    "ended_disabled": ("账号已停用。", "The account is disabled."),
    "ended_unknown_user": ("账号不存在。", "The account no longer exists."),
    "ended_demo_refused": ("演示账号不能查看真实数据。", "Demo accounts cannot open real data."),
    "ended_no_account": ("您的统一身份认证账号尚未开通本系统权限，请联系管理员。",
                         "Your identity-provider account has no access here yet: ask the "
                         "administrator to add it."),
    "no_jurisdiction": ("您的账号没有可查看的统筹地区，请联系管理员。",
                        "Your account has no jurisdiction to show: ask the administrator."),
    "not_permitted": ("您的角色无权处理该预警。", "Your role may not act on this alert."),
    "text_too_long": ("内容过长：{length} 个字符，最多 {limit} 个，请缩短后再提交。",
                      "Too long: {length} characters, at most {limit}; shorten it and submit"
                      " again."),
    "read_only": ("只读：您的角色不能确认或豁免该预警。",
                  "Read-only: your role may not acknowledge or waive this alert."),
    # audit page
    "page_audit": ("审计日志", "Audit trail"),
    "audit_since": ("起始日期（UTC）", "Since (UTC)"),
    "audit_user": ("用户", "User"),
    "audit_action": ("操作", "Action"),
    "audit_export": ("导出审计日志 CSV", "Export the audit trail (CSV)"),
    "users": ("用户列表", "Users"),
    "quarantine_in_scope": ("您所辖县（区、市）被隔离的数据行，按规则统计。",
                            "Rows quarantined in your counties, by rule."),
    # tables
    "download_csv": ("下载 CSV", "Download CSV"),
    "download_excel": ("下载 Excel", "Download Excel"),
    "empty": ("暂无数据", "No data"),
}


def t(key: str, lang: Lang) -> str:
    zh, en = LABELS[key]
    return zh if lang == "zh" else en
