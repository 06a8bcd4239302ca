"""精算回溯 Claims development: the paid triangle as a heat map, the development curves per
policy year, the projected ultimate loss ratio with Mack's error against the expected ratio,
and a sentence per year (docs/development.md)."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, summary, view, widgets
from dashboard.i18n import t
from hmb.measure.development import DEFAULT_GRAIN, GRAINS

v = view.current()
assert v is not None
lang = v.lang

place = v.profile.jurisdiction.name_zh if lang == "zh" else v.profile.jurisdiction.name_en
st.title(f"{t('page_development', lang)} · {place}")
if st.session_state.get("grain") not in GRAINS:
    st.session_state["grain"] = DEFAULT_GRAIN
grain = st.segmented_control(t("grain", lang), GRAINS, key="grain",
                             format_func=lambda g: t(f"grain_{g}", lang)) or DEFAULT_GRAIN
# The period is in the link only when it is not the default, so that moving between pages keeps
# the same view in the URL.
if grain != DEFAULT_GRAIN:
    st.query_params["grain"] = grain
elif "grain" in st.query_params:
    del st.query_params["grain"]
result = data.development(v.fingerprint, v.store, v.profile.name, v.as_of, v.scope,
                          grain=grain)
st.caption(t("development_note", lang))
if v.scope.limited:
    st.caption(t("development_county", lang))

st.subheader(t("projection_by_year", lang))
widgets.chart(charts.projected_loss_ratio_chart(result, lang), "projection")
if any(o.expected_loss_ratio is None for o in result.origins):
    st.caption(t("expected_not_set", lang))
for origin in result.origins:
    if result.in_force(origin):
        st.caption(t("in_force", lang).format(year=origin.policy_year))
for origin in reversed(result.origins):
    st.markdown("- " + summary.development_sentence(origin, result.developing(origin), lang))

left, right = st.columns(2)
with left:
    widgets.chart(charts.development_heatmap(result, lang), "triangle")
with right:
    widgets.chart(charts.development_curves(result, lang), "curves")
