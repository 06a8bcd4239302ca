"""Loaders for the pages: one cached dataset per data folder, metrics cached per as-of date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

from hmb import metrics
from hmb.dataset import Dataset, open_dataset
from hmb.demo import ensure_demo
from hmb.paths import DEMO_DIR
from hmb.profiles import load_profile


def demo_folder(profile: str) -> Path:
    """The embedded demo folder of a profile, generated with a progress bar if missing."""
    target = DEMO_DIR / profile
    if target.exists():
        return target
    bar = st.progress(0.0, text=f"正在生成演示数据 Generating demo data for {profile}…")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    path = ensure_demo(profile, DEMO_DIR, progress=progress)
    bar.empty()
    return path


@st.cache_resource(show_spinner="校验数据 Validating data…")
def dataset(folder: str, profile: str) -> Dataset:
    return open_dataset(Path(folder), load_profile(profile).liability_codes)


@st.cache_data(show_spinner=False)
def participation(fingerprint: str, folder: str, profile: str, as_of: date) -> pl.DataFrame:
    with dataset(folder, profile).connect() as con:
        return metrics.participation(con, as_of)


@st.cache_data(show_spinner=False)
def finance(fingerprint: str, folder: str, profile: str, as_of: date) -> pl.DataFrame:
    with dataset(folder, profile).connect() as con:
        return metrics.finance(con, load_profile(profile), as_of)
