"""赔付 Claims and loss ratio: by year, month, liability, county and insurer; paid against earned;
settlement speed and the one-stop share; the distribution of claim sizes."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, view, widgets
from dashboard.i18n import t
from hmb.core.counties import county_name
from hmb.core.formatting import people, percent, yuan
from hmb.core.labels import label
from hmb.measure import breakdowns

v = view.current()
assert v is not None
lang = v.lang
fin = data.finance(v.fingerprint, v.store, v.profile.name, v.as_of, v.scope)
totals = fin.filter(pl.col("insurer_id").is_null())
floor = view.rule_value(v.profile, "loss_ratio")
ceiling = view.rule_value(v.profile, "combined_ratio")

st.title(f"{t('page_claims', lang)} · {v.year}")
left, right = st.columns(2)
with left:
    widgets.chart(charts.loss_ratio_by_year(totals, v.as_of, lang, floor=floor, ceiling=ceiling),
                  "loss-by-year")
with right:
    widgets.chart(charts.paid_vs_earned(totals, v.as_of, lang), "paid-vs-earned")

monthly = data.query(v.fingerprint, v.store, "claims_by_month", v.as_of, v.scope)
widgets.chart(charts.cumulative_loss_ratio_by_month(
    breakdowns.cumulative_loss_ratio_by_month(monthly, totals, v.as_of), v.as_of, lang),
    "by-month")

# Insurer finance only for roles that may read it (a county supervisor sees her county's claims).
tabs = st.tabs([t("by_liability", lang), t("by_county", lang),
                *([t("by_insurer", lang)] if v.scope.may_see_finance else [])])
with tabs[0]:
    liability = data.query(v.fingerprint, v.store, "claims_by_liability", v.as_of, v.scope)
    liability = breakdowns.loss_ratio_by_liability(
        liability.filter(pl.col("policy_year") == v.year), totals, v.as_of)
    names = {item.code: (item.name_zh if lang == "zh" else item.name_en)
             for item in v.profile.liabilities}
    liability = liability.with_columns(
        pl.col("liability").replace_strict(names, default=pl.col("liability")).alias("liability")
    )
    widgets.chart(charts.breakdown_bar(liability, "liability", "loss_ratio",
                                       "各保险责任对赔付率的贡献", "Loss ratio by liability",
                                       v.as_of, lang, value_kind="rate"), "by-liability")
    widgets.table(liability, f"claims_by_liability_{v.profile.name}_{v.year}", lang,
                  key="liability")
with tabs[1]:
    by_county = data.query(v.fingerprint, v.store, "claims_by_county", v.as_of, v.scope)
    premium = data.query(v.fingerprint, v.store, "written_premium_by_county", v.as_of, v.scope)
    county_rows = breakdowns.loss_ratio_by_county(
        premium.filter(pl.col("policy_year") == v.year), by_county, v.as_of
    ).with_columns(pl.col("county_code").map_elements(lambda c: county_name(c) or c,
                                                      return_dtype=pl.String).alias("county"))
    widgets.chart(charts.breakdown_bar(county_rows, "county", "loss_ratio", "各区县赔付率",
                                       "Loss ratio by county", v.as_of, lang, value_kind="rate"),
                  "by-county")
    widgets.table(county_rows.select("policy_year", "county_code", "county", "earned_premium",
                                     "claims_paid", "loss_ratio"),
                  f"claims_by_county_{v.profile.name}_{v.year}", lang, key="county")
for tab in tabs[2:]:
    insurers = fin.filter((pl.col("policy_year") == v.year) & pl.col("insurer_id").is_not_null())
    with tab:
        widgets.chart(charts.breakdown_bar(insurers, "insurer_name", "loss_ratio",
                                           "各保险公司赔付率", "Loss ratio by insurer", v.as_of,
                                           lang, value_kind="rate"), "by-insurer")
        widgets.table(insurers.select("policy_year", "insurer_id", "insurer_name", "share",
                                      "earned_premium", "claims_paid", "loss_ratio"),
                      f"claims_by_insurer_{v.profile.name}_{v.year}", lang, key="insurer")

st.subheader(t("settlement", lang))
speed = data.query(v.fingerprint, v.store, "settlement_speed", v.as_of, v.scope)
speed_year = speed.filter(pl.col("policy_year") == v.year)
cards = st.columns(4)
row = speed_year.row(0, named=True) if speed_year.height else {}
cards[0].metric(t("median_days", lang), "—" if row.get("median_days") is None
                else f"{row['median_days']:.0f}")
cards[1].metric(t("p90_days", lang), "—" if row.get("p90_days") is None
                else f"{row['p90_days']:.0f}")
cards[2].metric(t("one_stop_share", lang), percent(row.get("one_stop_share")))
cards[3].metric(t("pending_claims", lang), f"{row.get('pending_claims', 0) or 0:,}")
lags = data.query(v.fingerprint, v.store, "settlement_lag_distribution", v.as_of, v.scope)
sizes = data.query(v.fingerprint, v.store, "claim_size_distribution", v.as_of, v.scope)
left, right = st.columns(2)
with left:
    widgets.chart(charts.settlement_lag_chart(breakdowns.paid_claim_shares(
        lags.filter(pl.col("policy_year") == v.year)), v.as_of, lang), "lags")
with right:
    st.markdown(f"**{t('claim_sizes', lang)}**")
    widgets.chart(charts.claim_size_chart(breakdowns.paid_claim_shares(
        sizes.filter(pl.col("policy_year") == v.year)), v.as_of, lang), "sizes")

st.subheader(t("claimants_section", lang))
figures = data.indicators(v.dataset, v.as_of, v.scope)
paid = figures["claimants"].filter(pl.col("policy_year") == v.year).to_dicts()
preexisting = figures["preexisting"].filter(pl.col("policy_year") == v.year).to_dicts()
paid_row = paid[0] if paid else {}
preexisting_row = preexisting[0] if preexisting else {}
cards = st.columns(4)
cards[0].metric(label("metric", "claimants", lang), people(paid_row.get("claimants")))
cards[1].metric(label("metric", "payout_per_claimant", lang),
                yuan(paid_row.get("payout_per_claimant")))
cards[2].metric(label("metric", "preexisting_claims_share", lang),
                percent(preexisting_row.get("claims_share")))
cards[3].metric(label("metric", "preexisting_payout_share", lang),
                percent(preexisting_row.get("payout_share")))
st.caption(t("published_figures", lang))

st.subheader(t("one_stop_by_liability", lang))
liability_names = {item.code: (item.name_zh if lang == "zh" else item.name_en)
                   for item in v.profile.liabilities}
every_liability = "全部责任" if lang == "zh" else "All liabilities"
one_stop = figures["one_stop"].filter(pl.col("policy_year") == v.year).with_columns(
    pl.col("liability").replace_strict(liability_names, default=pl.col("liability"))
    .fill_null(every_liability)
)
widgets.table(one_stop, f"one_stop_by_liability_{v.profile.name}_{v.year}", lang,
              key="one-stop")
