"""成本与结余 Costs and surplus: combined ratio and expenses per insurer against the ceilings,
profit and excess surplus with where the rulebook sends it, and the carry-forward pool."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, view, widgets
from dashboard.i18n import t
from hmb.core.formatting import percent, wan_yuan
from hmb.core.labels import ENUMS, label

v = view.current()
assert v is not None
lang = v.lang
fin = data.finance(v.fingerprint, v.store, v.profile.name, v.as_of, v.scope)
year_rows = fin.filter(pl.col("policy_year") == v.year)
insurers = year_rows.filter(pl.col("insurer_id").is_not_null())
total = year_rows.filter(pl.col("insurer_id").is_null())
ceiling = view.rule_value(v.profile, "combined_ratio")

st.title(f"{t('page_costs', lang)} · {v.year}")
left, right = st.columns(2)
with left:
    widgets.chart(charts.combined_ratio_by_insurer(insurers, v.as_of, lang, ceiling=ceiling),
                  "combined-by-insurer")
with right:
    expenses = data.query(v.fingerprint, v.store, "expenses_by_category", None, v.scope)
    widgets.chart(charts.expense_breakdown(expenses.filter(pl.col("policy_year") == v.year),
                                           v.as_of, lang), "expenses")

st.subheader(t("surplus_destination", lang))
margin = v.profile.margin(v.year)
destination = str(v.profile.parameters.surplus_destination.value)
if total.height:
    row = total.row(0, named=True)
    cards = st.columns(4)
    cards[0].metric(label("metric", "profit", lang), wan_yuan(row["profit"]), border=True)
    cards[1].metric(label("metric", "profit_rate", lang), percent(row["profit_rate"]),
                    border=True, help=None if margin is None else f"m = {margin:.0%}")
    cards[2].metric(label("metric", "excess_surplus", lang), wan_yuan(row["excess_surplus"]),
                    border=True)
    cards[3].metric(label("metric", "pool_close", lang), wan_yuan(row["pool_close"]), border=True)
    if margin is None:
        st.caption("该规则未规定利润率上限，超额结余不适用。" if lang == "zh"
                   else "The rulebook sets no margin: excess surplus does not apply.")
    elif row["excess_surplus"]:
        where = (label("surplus_destination", destination, lang)
                 if destination in ENUMS["surplus_destination"] else "")
        st.info(f"{wan_yuan(row['excess_surplus'])} {where}（{v.profile.document.number}）")

st.subheader(t("pool_waterfall", lang))
if v.profile.keeps_pool(v.year):
    widgets.chart(charts.pool_waterfall(fin.filter(pl.col("insurer_id").is_null()), v.as_of,
                                        lang), "pool")
else:
    st.caption(t("no_pool", lang))
year_rows = year_rows.with_columns(
    pl.col("insurer_name").fill_null("合计" if lang == "zh" else "All insurers"),
    pl.col("share").fill_null(1.0),
)
widgets.table(year_rows.select("policy_year", "insurer_id", "insurer_name", "share",
                               "earned_premium", "claims_paid", "expenses", "combined_ratio",
                               "profit", "profit_rate", "excess_surplus", "pool_open",
                               "pool_draw", "pool_close"),
              f"finance_{v.profile.name}_{v.year}", lang, key="finance")
