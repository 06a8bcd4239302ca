"""理赔核查 Claims audit: each settled claim's payable recomputed from the rulebook's benefit table
(contract §6, docs/claims_audit.md); over- and under-paid amounts by year, insurer (split by
share), county and liability; the largest differences with the clause and the arithmetic; every
mispaid claim to download, member IDs as the role may see them (masked, or none)."""

from __future__ import annotations

import streamlit as st

from dashboard import data, view, widgets
from dashboard.i18n import t
from hmb.measure import claims_audit as audit

v = view.current()
assert v is not None
lang = v.lang

place = v.profile.jurisdiction.name_zh if lang == "zh" else v.profile.jurisdiction.name_en
st.title(f"{t('page_claims_audit', lang)} · {place}")
st.caption(t("claims_audit_note", lang))
result = data.claims_audit(v.fingerprint, v.store, v.profile.name, v.as_of, v.scope)

if v.profile.benefit_table is None:
    st.info(t("claims_audit_no_table", lang))
else:
    st.subheader(t("audit_by_year", lang))
    years = tuple(r for r in result.summary if r.county_code is None)
    widgets.table(audit.cells_frame(years).drop("county_code", "liability"), "audit_by_year",
                  lang)
    if v.scope.may_see_finance and not v.scope.limited:
        st.subheader(t("audit_by_insurer", lang))
        insurers = data.query(v.fingerprint, v.store, "coinsurance_shares", None, v.scope)
        widgets.table(audit.by_insurer(result, insurers.to_dicts()), "audit_by_insurer", lang)
    st.subheader(t("audit_by_county", lang))
    counties = tuple(r for r in result.summary if r.county_code is not None)
    widgets.table(audit.cells_frame(counties).drop("liability"), "audit_by_county", lang)
    st.subheader(t("audit_by_liability", lang))
    widgets.table(audit.cells_frame(result.by_liability()).drop("county_code"),
                  "audit_by_liability", lang)
    mispaid = audit.mispaid_frame(result.claims, lang)
    st.subheader(t("audit_worst", lang))
    for row in mispaid.head(5).to_dicts():
        st.markdown(f"- **{row['claim_id']}** {row['reason']}（{row['clause']}）："
                    f"{row['arithmetic']}")
    st.subheader(t("audit_all_mispaid", lang))
    widgets.table(mispaid, "claims_mispaid", lang)

if result.not_audited:
    st.subheader(t("audit_not_audited", lang))
    for row in result.not_audited:
        reason = row.reason_zh if lang == "zh" else row.reason_en
        st.markdown(f"- `{row.liability}`（{row.claims:,}）：{reason}")
