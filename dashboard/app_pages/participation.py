"""参保 Participation: the county map and ranking against the rulebook's bands where it sets them
(三明 20 %/30 %), the enrolment
campaign against its target with the projection, subsidised groups, and one county's detail."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import charts, data, view, widgets
from dashboard.i18n import Lang, t
from hmb.access.scoping import DataScope
from hmb.core.counties import county_name
from hmb.core.formatting import people, percent
from hmb.core.labels import label, names
from hmb.judge.rules import campaign_deadline
from hmb.measure.campaign import projected_participation_rate, run_rate_projection

v = view.current()
assert v is not None
lang = v.lang
floor, aim = view.participation_bands(v.profile)
part = data.participation(v.fingerprint, v.store, v.as_of, v.scope)
year_rows = part.filter((pl.col("policy_year") == v.year) & pl.col("county_code").is_not_null())
year_rows = year_rows.with_columns(
    pl.col("county_code").map_elements(lambda c: county_name(c) or c, return_dtype=pl.String)
    .alias("county")
)


@st.cache_resource(show_spinner=False, max_entries=32)
def county_map(fingerprint: str, year: int, as_of: date, lang: Lang,
               scope: DataScope) -> go.Figure:
    """The choropleth, built once per view and scope and shared, not copied: a province's
    boundaries take a while to build and to pickle. Plotting only reads the figure. A user
    limited to counties sees only their boundaries."""
    return charts.participation_map(year_rows, v.profile.jurisdiction.adcode, as_of, lang,
                                    floor=floor, aim=aim, only=scope.counties)


st.title(f"{t('page_participation', lang)} · {v.year}")
map_col, rank_col = st.columns([3, 2])
with map_col:
    widgets.chart(county_map(v.fingerprint, v.year, v.as_of, lang, v.scope), "map")
with rank_col:
    widgets.chart(charts.participation_ranking(year_rows, v.as_of, lang, floor=floor, aim=aim),
                  "ranking")

st.subheader(t("campaign", lang))
deadline = campaign_deadline(v.profile, v.year)
by_day = data.query(v.fingerprint, v.store, "enrolment_by_day", v.as_of, v.scope)
by_day = by_day.filter(pl.col("policy_year") == v.year)
if v.county:
    by_day = by_day.filter(pl.col("county_code") == v.county)
    base_rows = year_rows.filter(pl.col("county_code") == v.county)
else:
    base_rows = year_rows
insured_base = int(base_rows["insured_base"].sum())
daily = by_day.group_by("enroll_date").agg(pl.col("enrolled").sum()).sort("enroll_date")
projection = None
if not daily.is_empty() and v.as_of < deadline:
    projection, _ = run_rate_projection(daily, v.as_of, deadline)
    projected_rate = projected_participation_rate(projection, insured_base)
    st.caption(
        (f"按最近 14 天日均参保外推，预计截至 {deadline} 参保 {people(projection)}，"
         f"参保率 {percent(projected_rate)}。")
        if lang == "zh" else
        (f"At the last 14 days' daily rate, {projection:,} members by {deadline}: "
         f"{percent(projected_rate)}.")
    )
widgets.chart(charts.enrolment_progress(daily, insured_base, v.as_of, deadline, lang,
                                        floor=floor, projection=projection), "progress")

st.subheader(t("subsidy", lang))
coverage = data.query(v.fingerprint, v.store, "subsidy_coverage", v.as_of, v.scope)
coverage = coverage.filter(pl.col("policy_year") == v.year)
if v.county:
    coverage = coverage.filter(pl.col("county_code") == v.county)
coverage_table = coverage.with_columns(
    pl.col("county_code").map_elements(lambda c: county_name(c) or c, return_dtype=pl.String)
    .alias("county"),
    pl.col("subsidy_group").replace_strict(
        names("subsidy_group", lang), default=pl.col("subsidy_group")
    ),
)
widgets.chart(charts.subsidy_coverage_chart(coverage, v.as_of, lang), "subsidy")
widgets.table(coverage_table, f"subsidy_coverage_{v.profile.name}_{v.year}", lang, key="subsidy")

st.subheader(t("renewal_and_accounts", lang))
figures = data.indicators(v.dataset, v.as_of, v.scope)
renewal = figures["renewal"].filter(pl.col("policy_year") == v.year)
accounts = figures["personal_account"].filter(pl.col("policy_year") == v.year)
# The county chosen, else the whole row, which in a county supervisor's scope is her counties'.
chosen = pl.col("county_code") == v.county if v.county else pl.col("county_code").is_null()
renewal_row = renewal.filter(chosen).to_dicts()
accounts_row = accounts.filter(chosen).to_dicts()
cards = st.columns(2)
cards[0].metric(label("metric", "renewal_rate", lang),
                percent(renewal_row[0]["renewal_rate"] if renewal_row else None), border=True)
cards[1].metric(label("metric", "personal_account_share", lang),
                percent(accounts_row[0]["personal_account_share"] if accounts_row else None),
                border=True)
st.caption(t("published_figures", lang))
by_county = (
    accounts.filter(pl.col("county_code").is_not_null())
    .join(renewal.select("county_code", "prior_members", "renewed", "renewal_rate"),
          on="county_code",
          how="full", coalesce=True)
    .with_columns(pl.lit(v.year, dtype=pl.Int32).alias("policy_year"),
                  pl.col("county_code").map_elements(lambda c: county_name(c) or c,
                                                     return_dtype=pl.String).alias("county"))
    .filter(pl.col("county_code").is_not_null())
)
if v.county:
    by_county = by_county.filter(pl.col("county_code") == v.county)
widgets.table(by_county.select("policy_year", "county_code", "county", "prior_members",
                               "renewed", "renewal_rate", "personal_account_premium",
                               "written_premium", "personal_account_share").sort("county_code"),
              f"renewal_{v.profile.name}_{v.year}", lang, key="renewal")

st.subheader(t("county_detail", lang) if v.county else t("ranking", lang))
detail = year_rows.filter(pl.col("county_code") == v.county) if v.county else year_rows
widgets.table(detail.select("policy_year", "county_code", "county", "enrolled", "insured_base",
                            "rate").sort("rate"),
              f"participation_{v.profile.name}_{v.year}", lang, key="participation")
