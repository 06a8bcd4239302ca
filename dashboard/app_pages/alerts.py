"""预警 Alerts: filter by severity, rule, scope and state; acknowledge or waive with a comment
(only a role that may act on that alert sees the forms, and the handler checks again); each
alert's history and the clause it enforces, quoted."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import streamlit as st

from dashboard import alert_actions, data, view, widgets
from dashboard.i18n import t
from hmb.access import scoping
from hmb.core.counties import county_name
from hmb.core.labels import label
from hmb.judge.alerts import ALERT_STATES

v = view.current()
assert v is not None
lang = v.lang
store = data.record_alerts(v.dataset, v.profile.name)
st.title(t("page_alerts", lang))
st.caption(t("evaluated_latest", lang))

records = scoping.visible_alerts(v.scope, store.list(v.profile.name))
rules = {rule.id: rule for rule in v.profile.rules}
f1, f2, f3, f4 = st.columns(4)
severity = f1.multiselect(label("column", "severity", lang), ["critical", "warning"],
                          format_func=lambda s: label("severity", s, lang), key="f_severity",
                          placeholder=t("any", lang))
states = f2.multiselect(label("column", "state", lang), ALERT_STATES,
                        default=["firing", "acknowledged"],
                        format_func=lambda s: label("alert_state", s, lang), key="f_state")


def rule_title(rule_id: str) -> str:
    rule = rules.get(rule_id)
    if rule is None:
        return rule_id
    return rule.title_zh if lang == "zh" else rule.title_en


rule_ids = f3.multiselect(label("column", "rule", lang), sorted({r.rule_id for r in records}),
                          format_func=rule_title, key="f_rule", placeholder=t("any", lang))
years = f4.multiselect(label("column", "policy_year", lang),
                       sorted({r.scope.policy_year for r in records if r.scope.policy_year}),
                       key="f_year", placeholder=t("any", lang))
shown = [
    r for r in records
    if (not severity or r.severity in severity) and (not states or r.state in states)
    and (not rule_ids or r.rule_id in rule_ids)
    and (not years or r.scope.policy_year in years)
    and (v.county is None or r.scope.county_code in (None, v.county))
]
if not shown:
    st.info(t("no_alerts", lang))
    st.stop()


def where(record_scope: object) -> str:
    scope = record_scope
    parts = [str(getattr(scope, "policy_year", "") or "")]
    code = getattr(scope, "county_code", None)
    if code:
        parts.append(county_name(code) or code)
    group = getattr(scope, "subsidy_group", None)
    if group:
        parts.append(label("subsidy_group", group, lang))
    return " · ".join(parts)


frame = pl.DataFrame([
    {"severity": label("severity", r.severity, lang),
     "state": label("alert_state", r.state, lang), "rule": rule_title(r.rule_id),
     "scope": where(r.scope),
     "message": r.message_zh if lang == "zh" else r.message_en,
     "local_parameter": "✓" if r.citation.local_parameter else ""}
    for r in shown
])
widgets.table(frame, f"alerts_{v.profile.name}", lang, key="alerts")

chosen = st.selectbox(
    t("select_alert", lang), [r.id for r in shown], key="alert",
    format_func=lambda i: next(f"{rule_title(r.rule_id)} · {where(r.scope)}"
                               for r in shown if r.id == i),
)
record = next(r for r in shown if r.id == chosen)
st.markdown(f"### {record.message_zh if lang == 'zh' else record.message_en}")
st.markdown(
    f"**{t('clause', lang)}** {record.citation.document} {record.citation.clause or ''}："
    f"“{record.citation.quote or ''}”"
)
if record.citation.local_parameter:
    st.caption(f"**{t('local_parameter', lang)}** {record.citation.local_parameter}")
st.caption(f"{label('column', 'state', lang)}: {label('alert_state', record.state, lang)}"
           f" · id {record.id}")

if scoping.may_act(v.scope, record):
    ack_col, waive_col = st.columns(2)
    with ack_col.form("acknowledge", clear_on_submit=True):
        comment = st.text_area(t("comment", lang), key="ack_comment",
                               max_chars=alert_actions.MAX_COMMENT_LENGTH)
        if st.form_submit_button(t("acknowledge", lang),
                                 disabled=record.state not in {"firing", "acknowledged"}):
            alert_actions.acknowledge(store, record.id, v.scope, comment, lang=lang)
    with waive_col.form("waive", clear_on_submit=True):
        reason = st.text_area(t("reason", lang), key="waive_reason",
                              max_chars=alert_actions.MAX_COMMENT_LENGTH)
        until = st.date_input(t("until", lang), value=date.today() + timedelta(days=90),
                              min_value=date.today() + timedelta(days=1), key="waive_until")
        if st.form_submit_button(t("waive", lang), disabled=record.state == "resolved"):
            alert_actions.waive(store, record.id, v.scope, reason,
                                until if isinstance(until, date) else date.today(), lang=lang)
else:
    st.caption(t("read_only", lang))

st.subheader(t("history", lang))
history = pl.DataFrame([
    {"at": h.at, "event": h.event, "from": h.from_state, "to": h.to_state, "actor": h.actor,
     "comment": h.comment, "observed": h.observed, "threshold": h.threshold,
     "rulebook": h.rulebook_version, "data": h.data_fingerprint}
    for h in store.history(record.id)
])
widgets.table(history, f"alert_history_{record.id}", lang, key="history")
