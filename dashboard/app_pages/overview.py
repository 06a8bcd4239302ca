"""总览 Overview: the year's headline figures against their thresholds and last year, the open
alerts by severity, and a paragraph on what needs attention."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import briefs, data, since_last, summary, view, widgets
from dashboard.i18n import t
from hmb.core.labels import label
from hmb.measure.development import DEFAULT_GRAIN

v = view.current()
assert v is not None
lang = v.lang
st.title(f"{v.profile.jurisdiction.name_zh if lang == 'zh' else v.profile.jurisdiction.name_en}"
         f" · {v.year}")
st.caption(f"{t('as_of', lang)} {v.as_of:%Y-%m-%d} · {v.profile.document.number}")
# The working group's brief of this view, as this role sees it (docs/brief.md).
widgets.download(t("brief_download", lang), briefs.maker(v), briefs.file_name(v),
                 "application/pdf", rows=0, key="brief_download")

since_last.show(v)

part = data.participation(v.fingerprint, v.store, v.as_of, v.scope)
fin = data.finance(v.fingerprint, v.store, v.profile.name, v.as_of, v.scope)
result = data.check(v.fingerprint, v.store, v.profile.name, v.as_of, v.scope)
cards = summary.headline(part, fin, v.profile, v.year, v.county,
                         insurer_finance=v.scope.may_see_finance)
# A year still developing: the projected ultimate beside the loss ratio paid so far (精算回溯).
projection = summary.projection_note(
    data.development(v.fingerprint, v.store, v.profile.name, v.as_of, v.scope,
                     grain=DEFAULT_GRAIN),
    v.year, lang)

columns = st.columns(4)
for i, card in enumerate(cards):
    columns[i % 4].metric(
        label("metric", card.metric, lang),
        card.value_text,
        delta=None if card.delta is None else summary.delta_text(card, lang),
        delta_color=card.delta_color,
        help=card.threshold_text(lang),
        border=True,
    )
    if card.metric == "loss_ratio" and projection is not None:
        columns[i % 4].caption(projection)

alerts = [a for a in result.alerts if a.scope.policy_year == v.year]
left, right = st.columns([1, 2])
with left:
    st.subheader(t("open_alerts", lang))
    counts = pl.DataFrame({"severity": [a.severity for a in alerts]},
                          schema={"severity": pl.String})
    critical = counts.filter(pl.col("severity") == "critical").height
    warning = counts.filter(pl.col("severity") == "warning").height
    st.metric(label("severity", "critical", lang), critical)
    st.metric(label("severity", "warning", lang), warning)
with right:
    st.subheader(t("summary", lang))
    st.markdown(summary.attention(alerts, v.profile, v.year, lang,
                                  place=summary.scope_place(v.scope, lang)))
    notices = [n for n in result.notices if n.policy_year == v.year]
    if notices:
        st.markdown(f"**{t('notices', lang)}**")
        for notice in notices:
            st.markdown("- " + (notice.message_zh if lang == "zh" else notice.message_en)
                        + summary.local_mark(notice.citation.local_parameter, lang))
