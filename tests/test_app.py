"""Every page of the app runs for every demo jurisdiction, and shows the engine's figures."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.app import PAGES
from hmb import metrics
from hmb.dataset import open_dataset
from hmb.demo import DEMO_PROFILES, ensure_demo
from hmb.formatting import percent, wan_yuan
from hmb.paths import DEMO_DIR
from hmb.profiles import load_profile

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def _app(profile: str, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["j"] = profile
    at.query_params["lang"] = lang
    return at.run()


@pytest.mark.parametrize("profile", DEMO_PROFILES)
@pytest.mark.parametrize("page", [name for name, _, _ in PAGES])
def test_every_page_runs_for_every_jurisdiction(profile: str, page: str) -> None:
    at = _app(profile)
    assert not at.exception, at.exception
    at.switch_page(f"dashboard/app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_the_overview_shows_the_engine_figures() -> None:
    profile = load_profile("sanming-2024")
    folder = ensure_demo(profile.name, DEMO_DIR)
    dataset = open_dataset(folder, profile.liability_codes)
    as_of = dataset.default_as_of
    assert as_of is not None
    with dataset.connect() as con:
        part = metrics.participation(con, as_of)
        fin = metrics.finance(con, profile, as_of)
    at = _app(profile.name)
    year = int(at.sidebar.selectbox[1].value)
    whole = part.filter((pl.col("policy_year") == year) & pl.col("county_code").is_null())
    total = fin.filter((pl.col("policy_year") == year) & pl.col("insurer_id").is_null())
    shown = {m.label: m.value for m in at.metric}
    assert shown["参保率"] == percent(whole["rate"][0])
    assert shown["签单保费"] == wan_yuan(total["written_premium"][0])
    assert shown["赔付率"] == percent(total["loss_ratio"][0])


def test_english_switch_translates_the_labels() -> None:
    at = _app("hunan-2024", lang="en")
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert "Loss ratio" in labels and "赔付率" not in labels


def test_the_url_selects_year_and_county() -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({"j": "sanming-2024", "year": "2023", "county": "350426"})
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox[1].value == 2023
    assert at.sidebar.selectbox[2].value == "350426"


@pytest.mark.parametrize(
    "params",
    [
        # The 2024 campaign in progress: 2024 has premium written but nothing earned or paid.
        {"j": "sanming-2024", "as_of": "2023-12-10", "year": "2024"},
        # Before any enrolment of the first year: empty frames everywhere.
        {"j": "nantong-2021", "as_of": "2020-06-30"},
        # One county, in English.
        {"j": "wenzhou-2021", "county": "330327", "lang": "en"},
    ],
    ids=["campaign", "before-any-data", "county-english"],
)
@pytest.mark.parametrize("page", [name for name, _, _ in PAGES])
def test_edge_views_show_empty_states_not_errors(params: dict[str, str], page: str) -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    at.switch_page(f"dashboard/app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
