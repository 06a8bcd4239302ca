"""The app opens on its embedded demo data and shows the engine's figures."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from streamlit.testing.v1 import AppTest

from hmb import metrics
from hmb.dataset import open_dataset
from hmb.demo import ensure_demo
from hmb.formatting import percent
from hmb.paths import DEMO_DIR
from hmb.profiles import load_profile

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def test_the_app_opens_on_demo_data_without_an_exception() -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.title and "惠民保监测" in at.title[0].value


def test_headline_participation_matches_the_metric_engine() -> None:
    profile = load_profile("sanming-2024")
    folder = ensure_demo(profile.name, DEMO_DIR)
    dataset = open_dataset(folder, profile.liability_codes)
    assert dataset.default_as_of is not None
    with dataset.connect() as con:
        frame = metrics.participation(con, dataset.default_as_of)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.sidebar.selectbox[0].select("sanming-2024").run()
    year = int(at.sidebar.selectbox[1].value)
    whole = frame.filter((pl.col("policy_year") == year) & pl.col("county_code").is_null())
    shown = {m.label: m.value for m in at.metric}
    assert shown["参保率 Participation"] == percent(whole["rate"][0])
