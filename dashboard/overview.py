"""总览 Overview: the headline figures of one jurisdiction, policy year and as-of date."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data
from hmb.demo import DEMO_PROFILES
from hmb.formatting import percent, wan_yuan
from hmb.profiles import load_profile


def render() -> None:
    st.set_page_config(page_title="惠民保监测", layout="wide")
    profile_name = st.sidebar.selectbox(
        "统筹地区 Jurisdiction",
        DEMO_PROFILES,
        format_func=lambda n: f"{load_profile(n).jurisdiction.name_zh} {n}",
    )
    profile = load_profile(profile_name)
    folder = data.demo_folder(profile_name)
    ds = data.dataset(str(folder), profile_name)
    default_as_of = ds.default_as_of
    if default_as_of is None:
        st.info("该数据文件夹还没有任何被接受的投保或理赔记录。 No accepted rows yet.")
        return
    as_of = st.sidebar.date_input("统计截止日 As of", value=default_as_of)
    part = data.participation(ds.fingerprint, str(folder), profile_name, as_of)
    fin = data.finance(ds.fingerprint, str(folder), profile_name, as_of)
    years = sorted(fin["policy_year"].unique().to_list(), reverse=True)
    year = st.sidebar.selectbox("保险年度 Policy year", years)

    st.title(f"{profile.jurisdiction.name_zh}惠民保监测 · {year} 年度")
    st.caption(f"统计截至 {as_of:%Y-%m-%d} · 依据 {profile.document.number}")
    whole = part.filter((pl.col("policy_year") == year) & pl.col("county_code").is_null())
    total = fin.filter((pl.col("policy_year") == year) & pl.col("insurer_id").is_null())
    cols = st.columns(5)
    rate = whole["rate"][0] if whole.height else None
    cols[0].metric("参保率 Participation", percent(rate))
    if total.height:
        row = total.row(0, named=True)
        cols[1].metric("签单保费 Written premium", wan_yuan(row["written_premium"]))
        cols[2].metric("已付赔款 Claims paid", wan_yuan(row["claims_paid"]))
        cols[3].metric("赔付率 Loss ratio", percent(row["loss_ratio"]))
        cols[4].metric("综合成本率 Combined ratio", percent(row["combined_ratio"]))
    st.subheader("各县参保率 Participation by county")
    st.dataframe(
        part.filter((pl.col("policy_year") == year) & pl.col("county_code").is_not_null()),
        hide_index=True,
    )
    st.subheader("经营情况 Finance")
    st.dataframe(fin.filter(pl.col("policy_year") == year), hide_index=True)
