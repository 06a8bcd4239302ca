"""The dashboard's charts, tested on the figures themselves (AppTest cannot look inside them).

Inputs are tiny frames with the columns of the queries and of ``hmb.measure.metrics.finance``; every
expected number is worked out by hand in the comment next to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import charts
from hmb.core.counties import counties
from hmb.measure.development import Development, OriginRow, chain_ladder

AS_OF = date(2024, 6, 30)
SANMING = "350400"
SANYUAN, SHAXIAN, MINGXI, QINGLIU = "350404", "350405", "350421", "350423"

FINANCE_SCHEMA: dict[str, Any] = {
    "policy_year": pl.Int32, "insurer_id": pl.String, "written_premium": pl.Float64,
    "earned_premium": pl.Float64, "claims_paid": pl.Float64, "expenses": pl.Float64,
    "loss_ratio": pl.Float64, "combined_ratio": pl.Float64, "profit": pl.Float64,
    "excess_surplus": pl.Float64, "pool_open": pl.Float64, "pool_draw": pl.Float64,
    "pool_close": pl.Float64, "insurer_name": pl.String, "share": pl.Float64,
    "profit_rate": pl.Float64,
}
PARTICIPATION_SCHEMA: dict[str, Any] = {
    "policy_year": pl.Int32, "county_code": pl.String, "enrolled": pl.Int64,
    "insured_base": pl.Int64, "rate": pl.Float64,
}
BY_DAY_SCHEMA: dict[str, Any] = {
    "policy_year": pl.Int32, "county_code": pl.String, "enroll_date": pl.Date,
    "enrolled": pl.Int64,
}
SUBSIDY_SCHEMA: dict[str, Any] = {
    "policy_year": pl.Int32, "county_code": pl.String, "subsidy_group": pl.String,
    "eligible": pl.Int64, "enrolled": pl.Int64, "coverage": pl.Float64,
}
MONTHLY_SCHEMA: dict[str, Any] = {
    "policy_year": pl.Int32, "month": pl.Int32, "month_end": pl.Date, "claims_paid": pl.Float64,
    "earned_premium": pl.Float64, "loss_ratio": pl.Float64,
}
LAG_SCHEMA: dict[str, Any] = {
    "policy_year": pl.Int32, "lag_bucket": pl.String, "bucket_order": pl.Int32,
    "paid_claims": pl.Int64, "share": pl.Float64,
}
SIZE_SCHEMA: dict[str, Any] = {
    "policy_year": pl.Int32, "size_bucket": pl.String, "bucket_order": pl.Int32,
    "paid_claims": pl.Int64, "claims_paid": pl.Float64, "share": pl.Float64,
}
EXPENSE_SCHEMA: dict[str, Any] = {
    "policy_year": pl.Int32, "insurer_id": pl.String, "insurer_name": pl.String,
    "category": pl.String, "expenses": pl.Float64,
}


def frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema,
                        orient="row")


def participation() -> pl.DataFrame:
    """Four Sanming counties at 19 %, 20 %, 30 % and 12,345 / 50,000 = 24.69 %, plus the
    jurisdiction row (which the charts must ignore)."""
    return frame([
        {"policy_year": 2024, "county_code": None, "enrolled": 12_414, "insured_base": 50_300,
         "rate": 12_414 / 50_300},
        {"policy_year": 2024, "county_code": SANYUAN, "enrolled": 19, "insured_base": 100,
         "rate": 19 / 100},
        {"policy_year": 2024, "county_code": SHAXIAN, "enrolled": 20, "insured_base": 100,
         "rate": 20 / 100},
        {"policy_year": 2024, "county_code": MINGXI, "enrolled": 30, "insured_base": 100,
         "rate": 30 / 100},
        {"policy_year": 2024, "county_code": QINGLIU, "enrolled": 12_345, "insured_base": 50_000,
         "rate": 12_345 / 50_000},
    ], PARTICIPATION_SCHEMA)


def finance() -> pl.DataFrame:
    """Two years with a pool, plus one insurer row per year (pool columns null there).

    Pool by hand (yuan): open 1,000,000; 2023 draws 200,000 and pays in nothing → 800,000;
    2024 draws nothing and pays in 350,000 → 1,150,000.
    """
    return frame([
        {"policy_year": 2023, "earned_premium": 1_234_567.89, "claims_paid": 987_654.32,
         "written_premium": 1_234_567.89, "expenses": 100_000.0, "loss_ratio": 0.80,
         "combined_ratio": 0.88, "excess_surplus": 0.0, "pool_open": 1_000_000.0,
         "pool_draw": 200_000.0, "pool_close": 800_000.0},
        {"policy_year": 2023, "insurer_id": "PICC", "insurer_name": "人保财险", "share": 1.0,
         "earned_premium": 1_234_567.89, "claims_paid": 987_654.32, "loss_ratio": 0.80,
         "combined_ratio": 0.88},
        {"policy_year": 2024, "earned_premium": 2_000_000.0, "claims_paid": 0.0,
         "written_premium": 4_000_000.0, "expenses": 50_000.0, "loss_ratio": 0.0,
         "combined_ratio": 0.025, "excess_surplus": 350_000.0, "pool_open": 800_000.0,
         "pool_draw": 0.0, "pool_close": 1_150_000.0},
        {"policy_year": 2024, "insurer_id": "PICC", "insurer_name": "人保财险", "share": 1.0,
         "earned_premium": 2_000_000.0, "claims_paid": 0.0, "loss_ratio": 0.0,
         "combined_ratio": 0.025},
    ], FINANCE_SCHEMA)


def insurers_2024() -> pl.DataFrame:
    return frame([
        {"policy_year": 2024, "insurer_id": None, "combined_ratio": 0.93},
        {"policy_year": 2024, "insurer_id": "A", "insurer_name": "甲保险", "combined_ratio": 0.97},
        {"policy_year": 2024, "insurer_id": "B", "insurer_name": "乙保险", "combined_ratio": 0.90},
    ], FINANCE_SCHEMA)


def by_day() -> pl.DataFrame:
    # Two counties on 1 Jan (10 + 5), one on 3 Jan (20): cumulative 15, 35.
    return frame([
        {"policy_year": 2024, "county_code": SANYUAN, "enroll_date": date(2024, 1, 1),
         "enrolled": 10},
        {"policy_year": 2024, "county_code": SHAXIAN, "enroll_date": date(2024, 1, 1),
         "enrolled": 5},
        {"policy_year": 2024, "county_code": SANYUAN, "enroll_date": date(2024, 1, 3),
         "enrolled": 20},
    ], BY_DAY_SCHEMA)


def subsidy() -> pl.DataFrame:
    return frame([
        {"policy_year": 2024, "county_code": SANYUAN, "subsidy_group": "dibao", "eligible": 200,
         "enrolled": 150, "coverage": 0.75},
        {"policy_year": 2024, "county_code": SANYUAN, "subsidy_group": "tekun", "eligible": 10,
         "enrolled": 10, "coverage": 1.0},
        {"policy_year": 2024, "county_code": SHAXIAN, "subsidy_group": "dibao", "eligible": 1_000,
         "enrolled": 990, "coverage": 0.99},
    ], SUBSIDY_SCHEMA)


def monthly() -> pl.DataFrame:
    """2023 to 15 March, 365,000 written (1,000 earned a day): January 15,500 / 31,000 = 0.5,
    February 29,500 / 59,000 = 0.5, March 29,500 / 74,000; 2024 has no premium written."""
    return frame([
        {"policy_year": 2023, "month": 1, "month_end": date(2023, 1, 31), "claims_paid": 15_500.0,
         "earned_premium": 31_000.0, "loss_ratio": 0.5},
        {"policy_year": 2023, "month": 2, "month_end": date(2023, 2, 28), "claims_paid": 29_500.0,
         "earned_premium": 59_000.0, "loss_ratio": 0.5},
        {"policy_year": 2023, "month": 3, "month_end": date(2023, 3, 15), "claims_paid": 29_500.0,
         "earned_premium": 74_000.0, "loss_ratio": 29_500 / 74_000},
        {"policy_year": 2024, "month": 1, "month_end": date(2024, 1, 31), "claims_paid": 100.0,
         "earned_premium": 0.0, "loss_ratio": None},
    ], MONTHLY_SCHEMA)


def lags() -> pl.DataFrame:
    # 100 paid claims: 60 %, 30 % and 10 %.
    return frame([
        {"policy_year": 2024, "lag_bucket": "8–15天", "bucket_order": 2, "paid_claims": 30,
         "share": 0.3},
        {"policy_year": 2024, "lag_bucket": "0–7天", "bucket_order": 1, "paid_claims": 60,
         "share": 0.6},
        {"policy_year": 2024, "lag_bucket": "90天以上", "bucket_order": 3, "paid_claims": 10,
         "share": 0.1},
    ], LAG_SCHEMA)


def sizes() -> pl.DataFrame:
    # 4 paid claims: 3 / 4 = 75 % and 1 / 4 = 25 %.
    return frame([
        {"policy_year": 2024, "size_bucket": "<1千", "bucket_order": 1, "paid_claims": 3,
         "claims_paid": 1_500.0, "share": 0.75},
        {"policy_year": 2024, "size_bucket": "≥50万", "bucket_order": 2, "paid_claims": 1,
         "claims_paid": 1_234_567.89, "share": 0.25},
    ], SIZE_SCHEMA)


def expenses() -> pl.DataFrame:
    return frame([
        {"policy_year": 2024, "insurer_id": "A", "insurer_name": "甲保险", "category": "it",
         "expenses": 20_000.0},
        {"policy_year": 2024, "insurer_id": "A", "insurer_name": "甲保险",
         "category": "operations", "expenses": 1_234_567.89},
        {"policy_year": 2024, "insurer_id": "B", "insurer_name": None, "category": "operations",
         "expenses": 50_000.0},
    ], EXPENSE_SCHEMA)


def liability_breakdown() -> pl.DataFrame:
    return pl.DataFrame({"liability": ["in_scope", "out_of_scope", "drugs"],
                         "claims_paid": [1_234_567.89, 50_000.0, None]})


# Every chart, built from the frames above, in a given language.
def development(expected: float | None = 0.85) -> Development:
    """Three policy years by year, as of 2024-06-30 (2022 at age 3, final; 2023 and 2024
    developing), paid in yuan:

    - 2022: 100,000 → 150,000 → 160,000; ultimate 160,000 on 200,000 earned: 80 %, ± 0;
    - 2023: 120,000 → 180,000; ultimate 192,000 on 240,000 earned: 80 %, ± 4,000 / 240,000;
    - 2024: 50,000; ultimate 80,000 on 90,000 earned: 88.9 %, ± 10,000 / 90,000 = 11.1 points.

    The chain ladder's factors: (150,000 + 180,000) / (100,000 + 120,000) = 1.5 and
    160,000 / 150,000; so 2023 goes on to 192,000 and 2024 to 75,000 and 80,000.
    """
    figures = ((2022, 3, 160_000.0, 160_000.0, 0.0, 200_000),
               (2023, 2, 180_000.0, 192_000.0, 4_000.0, 240_000),
               (2024, 1, 50_000.0, 80_000.0, 10_000.0, 90_000))
    origins = tuple(
        OriginRow(policy_year=year, age=age, latest=latest, ultimate=ultimate,
                  ibnr=ultimate - latest, mack_se=se, earned_premium=Decimal(earned),
                  expected_loss_ratio=expected, written_premium=Decimal(earned))
        for year, age, latest, ultimate, se, earned in figures)
    triangle = ((100_000.0, 150_000.0, 160_000.0), (120_000.0, 180_000.0, None),
                (50_000.0, None, None))
    projection = chain_ladder([[math.nan if c is None else c for c in row] for row in triangle])
    return Development(AS_OF, "year", origins, projection, triangle)


NO_DEVELOPMENT = Development(AS_OF, "year", (), None, ())

BUILDERS: dict[str, Callable[[str], go.Figure]] = {
    "development_heatmap": lambda lang: charts.development_heatmap(development(), lang),
    "development_curves": lambda lang: charts.development_curves(development(), lang),
    "projected_loss_ratio_chart": lambda lang: charts.projected_loss_ratio_chart(
        development(), lang),
    "participation_map": lambda lang: charts.participation_map(
        participation(), SANMING, AS_OF, lang, floor=0.20, aim=0.30),
    "participation_ranking": lambda lang: charts.participation_ranking(
        participation(), AS_OF, lang, floor=0.20, aim=0.30),
    "enrolment_progress": lambda lang: charts.enrolment_progress(
        by_day(), 1_000, AS_OF, date(2024, 7, 31), lang, floor=0.20, projection=300),
    "subsidy_coverage_chart": lambda lang: charts.subsidy_coverage_chart(subsidy(), AS_OF, lang),
    "loss_ratio_by_year": lambda lang: charts.loss_ratio_by_year(
        finance(), AS_OF, lang, floor=0.85, ceiling=0.95),
    "cumulative_loss_ratio_by_month": lambda lang: charts.cumulative_loss_ratio_by_month(
        monthly(), AS_OF, lang),
    "paid_vs_earned": lambda lang: charts.paid_vs_earned(finance(), AS_OF, lang),
    "breakdown_bar": lambda lang: charts.breakdown_bar(
        liability_breakdown(), "liability", "claims_paid", "各责任已付赔款",
        "Claims paid by liability", AS_OF, lang),
    "settlement_lag_chart": lambda lang: charts.settlement_lag_chart(lags(), AS_OF, lang),
    "claim_size_chart": lambda lang: charts.claim_size_chart(sizes(), AS_OF, lang),
    "expense_breakdown": lambda lang: charts.expense_breakdown(expenses(), AS_OF, lang),
    "combined_ratio_by_insurer": lambda lang: charts.combined_ratio_by_insurer(
        insurers_2024(), AS_OF, lang, ceiling=0.95),
    "pool_waterfall": lambda lang: charts.pool_waterfall(finance(), AS_OF, lang),
}

# The same charts on empty inputs, with the note each must show.
NO_CLAIMS = ("暂无数据：该年度尚无赔款", "No data: no claims paid in this year yet")
EMPTY: dict[str, tuple[Callable[[str], go.Figure], tuple[str, str]]] = {
    "development_heatmap": (lambda lang: charts.development_heatmap(NO_DEVELOPMENT, lang),
                            NO_CLAIMS),
    "development_curves": (lambda lang: charts.development_curves(NO_DEVELOPMENT, lang),
                           NO_CLAIMS),
    "projected_loss_ratio_chart": (lambda lang: charts.projected_loss_ratio_chart(
        NO_DEVELOPMENT, lang), charts.NO_EARNED),
    "participation_map": (lambda lang: charts.participation_map(
        frame([], PARTICIPATION_SCHEMA), SANMING, AS_OF, lang), charts.NO_MEMBERS),
    "participation_ranking": (lambda lang: charts.participation_ranking(
        frame([], PARTICIPATION_SCHEMA), AS_OF, lang), charts.NO_MEMBERS),
    "enrolment_progress": (lambda lang: charts.enrolment_progress(
        frame([], BY_DAY_SCHEMA), 1_000, AS_OF, date(2024, 7, 31), lang, projection=300),
        charts.NO_MEMBERS),
    "subsidy_coverage_chart": (lambda lang: charts.subsidy_coverage_chart(
        frame([], SUBSIDY_SCHEMA), AS_OF, lang), charts.NO_SUBSIDY),
    "loss_ratio_by_year": (lambda lang: charts.loss_ratio_by_year(
        frame([], FINANCE_SCHEMA), AS_OF, lang, floor=0.85), charts.NO_PREMIUM),
    "cumulative_loss_ratio_by_month": (lambda lang: charts.cumulative_loss_ratio_by_month(
        frame([], MONTHLY_SCHEMA), AS_OF, lang), NO_CLAIMS),
    "paid_vs_earned": (lambda lang: charts.paid_vs_earned(
        frame([], FINANCE_SCHEMA), AS_OF, lang), charts.NO_PREMIUM),
    "breakdown_bar": (lambda lang: charts.breakdown_bar(
        liability_breakdown().clear(), "liability", "claims_paid", "各责任已付赔款",
        "Claims paid by liability", AS_OF, lang), charts.NO_ROWS),
    "settlement_lag_chart": (lambda lang: charts.settlement_lag_chart(
        frame([], LAG_SCHEMA), AS_OF, lang), NO_CLAIMS),
    "claim_size_chart": (lambda lang: charts.claim_size_chart(
        frame([], SIZE_SCHEMA), AS_OF, lang), NO_CLAIMS),
    "expense_breakdown": (lambda lang: charts.expense_breakdown(
        frame([], EXPENSE_SCHEMA), AS_OF, lang), charts.NO_EXPENSES),
    "combined_ratio_by_insurer": (lambda lang: charts.combined_ratio_by_insurer(
        frame([], FINANCE_SCHEMA), AS_OF, lang, ceiling=0.95), charts.NO_PREMIUM),
    "pool_waterfall": (lambda lang: charts.pool_waterfall(
        frame([], FINANCE_SCHEMA), AS_OF, lang), charts.NO_POOL),
}


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def colour_at(scale: Any, z: float, zmin: float, zmax: float) -> str:
    """The colour a stepped colourscale gives to z (each band is flat, so no interpolation)."""
    position = (z - zmin) / (zmax - zmin)
    below = [colour for stop, colour in scale if stop <= position]
    above = [colour for stop, colour in scale if stop >= position]
    assert below[-1] == above[0], "z sits on a band boundary"
    return str(below[-1])


def shape_positions(fig: go.Figure, axis: str) -> list[float]:
    return sorted(getattr(shape, f"{axis}0") for shape in fig.layout.shapes)


def annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


# --- every chart -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILDERS)
def test_titles_say_what_and_as_of_when_in_both_languages(name: str) -> None:
    zh, en = BUILDERS[name]("zh"), BUILDERS[name]("en")
    assert "（截至 2024-06-30）" in zh.layout.title.text
    assert "(as of 2024-06-30)" in en.layout.title.text
    assert zh.layout.title.text != en.layout.title.text
    for fig in (zh, en):
        assert fig.layout.font.family == "Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"
        assert len(fig.data) > 0


@pytest.mark.parametrize("name", BUILDERS)
def test_figures_fetch_nothing(name: str) -> None:
    for lang in ("zh", "en"):
        fig = BUILDERS[name](lang)
        assert "http" not in fig.to_json()
        assert not any(isinstance(trace, go.Choropleth | go.Scattergeo) for trace in fig.data)


@pytest.mark.parametrize("name", EMPTY)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_empty_inputs_give_no_traces_and_say_so(name: str, lang: str) -> None:
    build, message = EMPTY[name]
    fig = build(lang)
    assert len(fig.data) == 0
    (note,) = fig.layout.annotations
    assert note.text == message[0 if lang == "zh" else 1]
    assert note.text.startswith("暂无数据：" if lang == "zh" else "No data: ")
    assert (note.x, note.y, note.xref, note.yref) == (0.5, 0.5, "paper", "paper")
    assert note.showarrow is False
    assert ("截至 2024-06-30" if lang == "zh" else "as of 2024-06-30") in fig.layout.title.text


def test_frames_without_columns_do_not_raise_either() -> None:
    nothing = pl.DataFrame()
    figures = [
        charts.participation_map(nothing, SANMING, AS_OF),
        charts.participation_ranking(nothing, AS_OF),
        charts.enrolment_progress(nothing, 0, AS_OF, AS_OF),
        charts.subsidy_coverage_chart(nothing, AS_OF),
        charts.loss_ratio_by_year(nothing, AS_OF),
        charts.cumulative_loss_ratio_by_month(nothing, AS_OF),
        charts.paid_vs_earned(nothing, AS_OF),
        charts.breakdown_bar(nothing, "x", "y", "甲", "A", AS_OF),
        charts.settlement_lag_chart(nothing, AS_OF),
        charts.claim_size_chart(nothing, AS_OF),
        charts.expense_breakdown(nothing, AS_OF),
        charts.combined_ratio_by_insurer(nothing, AS_OF),
        charts.pool_waterfall(nothing, AS_OF),
    ]
    assert all(len(fig.data) == 0 and len(fig.layout.annotations) == 1 for fig in figures)


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="lang"):
        charts.paid_vs_earned(finance(), AS_OF, "fr")


# --- participation -----------------------------------------------------------------------------


def test_bands_at_the_thresholds() -> None:
    assert charts.band_colour(0.19, 0.20, 0.30) == charts.RED
    assert charts.band_colour(0.20, 0.20, 0.30) == charts.AMBER
    assert charts.band_colour(0.2999, 0.20, 0.30) == charts.AMBER
    assert charts.band_colour(0.30, 0.20, 0.30) == charts.GREEN
    assert charts.band_colour(None, 0.20, 0.30) == charts.GREY
    # A floor without an aim: two bands; no floor at all: no band, one colour.
    assert charts.band_colour(0.19, 0.20, None) == charts.RED
    assert charts.band_colour(0.95, 0.20, None) == charts.GREEN
    assert charts.band_colour(0.01, None, None) == charts.band_colour(0.99, None, None)
    red, amber, green = hex_rgb(charts.RED), hex_rgb(charts.AMBER), hex_rgb(charts.GREEN)
    assert red[0] > 2 * red[1] and red[0] > 2 * red[2]
    assert amber[0] > amber[1] > 2 * amber[2]
    assert green[1] > green[0] and green[1] > green[2]


@given(st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=1))
def test_band_counts_the_thresholds_reached(rate: float, shift: float) -> None:
    floor, aim = 0.2, 0.2 + 0.3 * shift
    assert charts.band(rate, floor, aim) == (rate >= floor) + (rate >= aim)


def test_map_is_an_offline_choroplethmap_of_the_counties() -> None:
    fig = charts.participation_map(participation(), SANMING, AS_OF, "zh", floor=0.20, aim=0.30)
    (trace,) = fig.data
    assert isinstance(trace, go.Choroplethmap)
    assert not isinstance(trace, go.Choropleth)
    assert fig.layout.map.style == "white-bg"
    assert fig.layout.map.zoom > 6
    assert 116 < fig.layout.map.center.lon < 119 and 25 < fig.layout.map.center.lat < 27.5
    assert trace.featureidkey == "id"
    codes = [c.code for c in counties(SANMING)]
    assert list(trace.locations) == codes
    assert [f["id"] for f in trace.geojson["features"]] == codes


def test_map_colours_each_county_by_its_band() -> None:
    fig = charts.participation_map(participation(), SANMING, AS_OF, "zh", floor=0.20, aim=0.30)
    (trace,) = fig.data
    z = dict(zip(trace.locations, trace.z, strict=True))
    colour = {code: colour_at(trace.colorscale, z[code], trace.zmin, trace.zmax) for code in z}
    assert colour[SANYUAN] == charts.RED  # 19 %
    assert colour[SHAXIAN] == charts.AMBER  # 20 %
    assert colour[MINGXI] == charts.GREEN  # 30 %
    assert colour[QINGLIU] == charts.AMBER  # 24.69 %
    assert colour["350481"] == charts.GREY  # 永安市: no row, no rate
    assert list(trace.colorbar.ticktext) == ["< 20%", "20%–30%", "≥ 30%", "无数据"]


def test_map_bands_follow_the_rulebook_thresholds() -> None:
    # With a 25 %/35 % rulebook, 24.69 % is red and 30 % amber.
    fig = charts.participation_map(participation(), SANMING, AS_OF, "en", floor=0.25, aim=0.35)
    (trace,) = fig.data
    z = dict(zip(trace.locations, trace.z, strict=True))
    assert (z[QINGLIU], z[MINGXI]) == (0, 1)
    assert list(trace.colorbar.ticktext) == ["< 25%", "25%–35%", "≥ 35%", "No data"]


def test_without_a_rulebook_floor_no_band_line_or_target_is_drawn() -> None:
    """A jurisdiction whose rulebook sets no participation floor inherits nobody's 20 %/30 %:
    the map shades the rate itself, the ranking has no lines, the progress no target."""
    (trace,) = charts.participation_map(participation(), SANMING, AS_OF, "zh").data
    rates = dict(zip(trace.locations, trace.z, strict=True))
    assert rates[QINGLIU] == pytest.approx(0.2469) and rates[SANYUAN] == pytest.approx(0.19)
    assert trace.colorbar.ticktext is None
    ranking = charts.participation_ranking(participation(), AS_OF, "zh")
    assert not ranking.layout.shapes and not annotation_texts(ranking)
    assert len(set(ranking.data[0].marker.color)) == 1
    progress = charts.enrolment_progress(by_day(), 1_000, AS_OF, date(2024, 1, 31), "zh")
    assert [trace.name for trace in progress.data] == ["累计参保人数"]


def test_map_hover_names_the_county_with_rate_and_counts() -> None:
    (trace,) = charts.participation_map(participation(), SANMING, AS_OF, "zh").data
    hover = dict(zip(trace.locations, (tuple(c) for c in trace.customdata), strict=True))
    assert hover[QINGLIU] == ("清流县", "24.69%", "12,345 / 50,000")
    assert hover[SANYUAN] == ("三元区", "19.00%", "19 / 100")
    assert hover["350481"][0] == "永安市"
    assert "%{customdata[0]}" in trace.hovertemplate and "参保率" in trace.hovertemplate


def test_ranking_orders_counties_by_rate_with_names_and_band_colours() -> None:
    fig = charts.participation_ranking(participation(), AS_OF, "zh", floor=0.20, aim=0.30)
    (bars,) = fig.data
    assert bars.orientation == "h"
    # Lowest first: plotly draws the first category at the bottom, so the best is on top.
    assert list(bars.y) == ["三元区", "沙县区", "清流县", "明溪县"]
    assert list(bars.x) == pytest.approx([0.19, 0.20, 0.2469, 0.30])
    assert list(bars.marker.color) == [charts.RED, charts.AMBER, charts.AMBER, charts.GREEN]
    assert list(bars.text) == ["19.00%", "20.00%", "24.69%", "30.00%"]
    assert not any(label.isdigit() for label in bars.y)
    assert fig.layout.xaxis.tickformat == ".0%"


@pytest.mark.parametrize(("lang", "floor_label", "aim_label"),
                         [("zh", "底线 20%", "目标 30%"), ("en", "Floor 20%", "Aim 30%")])
def test_ranking_draws_the_floor_and_aim_lines(lang: str, floor_label: str,
                                               aim_label: str) -> None:
    fig = charts.participation_ranking(participation(), AS_OF, lang, floor=0.20, aim=0.30)
    assert shape_positions(fig, "x") == [0.20, 0.30]
    assert all(shape.x0 == shape.x1 for shape in fig.layout.shapes)
    assert {floor_label, aim_label} <= set(annotation_texts(fig))


def test_ranking_shows_the_latest_year_only() -> None:
    older = participation().with_columns(pl.lit(2023, pl.Int32).alias("policy_year"),
                                         pl.lit(0.5).alias("rate"))
    fig = charts.participation_ranking(pl.concat([older, participation()]), AS_OF, "en")
    assert len(fig.data[0].y) == 4
    assert "policy year 2024" in fig.layout.title.text


def test_enrolment_progress_by_hand() -> None:
    fig = charts.enrolment_progress(by_day(), 1_000, AS_OF, date(2024, 7, 31), "zh",
                                    floor=0.20, projection=300)
    cumulative, target, projection = fig.data
    assert list(cumulative.x) == [date(2024, 1, 1), date(2024, 1, 3)]
    assert list(cumulative.y) == [15, 35]  # 10 + 5, then + 20
    assert list(target.y) == [200, 200]  # 20 % of 1,000
    assert target.x[-1] == date(2024, 7, 31)
    assert "底线 20%" in target.name and "200 人" in target.name
    assert list(projection.x) == [AS_OF, date(2024, 7, 31)]
    assert list(projection.y) == [35, 300]
    assert projection.line.dash == "dash"


def test_no_projection_once_the_campaign_has_closed() -> None:
    fig = charts.enrolment_progress(by_day(), 1_000, AS_OF, date(2024, 1, 31), "en",
                                    floor=0.20, projection=300)
    assert len(fig.data) == 2
    assert fig.data[1].name == "Floor 20% (200 people)"


def test_subsidy_coverage_groups_bars_by_county_with_the_full_coverage_line() -> None:
    fig = charts.subsidy_coverage_chart(subsidy(), AS_OF, "zh")
    assert fig.layout.barmode == "group"
    tekun, dibao = fig.data  # the schema's order: tekun before dibao
    assert (tekun.name, dibao.name) == ("特困供养人员", "低保对象")
    assert list(dibao.x) == ["三元区", "沙县区"]
    assert list(dibao.y) == [0.75, 0.99]
    assert list(tekun.y) == [1.0, None]  # 沙县区 has no 特困 row
    assert "150 / 200" in dibao.customdata[0]
    assert shape_positions(fig, "y") == [1]
    en = charts.subsidy_coverage_chart(subsidy(), AS_OF, "en")
    assert en.data[1].name == "Minimum-allowance recipients"


# --- loss ratio, premium, claims -------------------------------------------------------------


def test_paid_vs_earned_in_wan_yuan() -> None:
    fig = charts.paid_vs_earned(finance(), AS_OF, "zh")
    earned, paid = fig.data
    assert (earned.name, paid.name) == ("已赚保费", "已付赔款")
    assert list(earned.x) == ["2023", "2024"]  # whole-jurisdiction rows only
    assert list(earned.y) == [123.46, 200.0]  # 1,234,567.89 and 2,000,000 yuan
    assert list(paid.y) == [98.77, 0.0]  # 987,654.32 yuan
    assert list(earned.text) == ["123.46", "200.00"]
    assert earned.customdata[0] == "123.46 万元"
    assert fig.layout.barmode == "group"
    assert "万元" in fig.layout.yaxis.title.text
    assert "万元" in charts.paid_vs_earned(finance(), AS_OF, "en").layout.yaxis.title.text


def test_loss_ratio_by_year_with_threshold_lines() -> None:
    fig = charts.loss_ratio_by_year(finance(), AS_OF, "zh", floor=0.85, ceiling=0.95)
    loss, combined = fig.data
    assert list(loss.x) == ["2023", "2024"]
    assert list(loss.y) == [0.80, 0.0]
    assert list(combined.y) == [0.88, 0.025]
    assert list(loss.text) == ["80.00%", "0.00%"]
    assert shape_positions(fig, "y") == [0.85, 0.95]
    assert {"赔付率底线 85%", "综合成本率上限 95%"} <= set(annotation_texts(fig))
    assert fig.layout.yaxis.tickformat == ".0%"
    assert not charts.loss_ratio_by_year(finance(), AS_OF, "zh").layout.shapes


def test_loss_ratio_before_any_premium_is_earned_is_an_empty_state() -> None:
    unearned = finance().with_columns(pl.lit(None, pl.Float64).alias("loss_ratio"),
                                      pl.lit(None, pl.Float64).alias("combined_ratio"))
    fig = charts.loss_ratio_by_year(unearned, AS_OF, "en")
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == "No data: no premium earned yet"


def test_cumulative_loss_ratio_draws_a_line_per_year_with_premium() -> None:
    fig = charts.cumulative_loss_ratio_by_month(monthly(), date(2023, 3, 15), "zh")
    (line,) = fig.data  # 2024 has no ratio: no premium written
    assert line.name == "2023 年度"
    assert list(line.x) == [1, 2, 3]
    assert list(line.y) == pytest.approx([0.5, 0.5, 29_500 / 74_000])
    assert line.customdata[0] == "2023-01: 1.55 万元 / 3.10 万元 = 50.00%"
    assert line.customdata[2] == "2023-03: 2.95 万元 / 7.40 万元 = 39.86%"
    assert list(fig.layout.xaxis.range) == [0.5, 3.5]


def test_cumulative_loss_ratio_without_premium_written_says_so() -> None:
    fig = charts.cumulative_loss_ratio_by_month(
        monthly().filter(pl.col("policy_year") == 2024), AS_OF, "en")
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == "No data: no premium earned yet"


def test_breakdown_bar_sorts_converts_and_names() -> None:
    fig = charts.breakdown_bar(liability_breakdown(), "liability", "claims_paid", "各责任已付赔款",
                               "Claims paid by liability", AS_OF, "zh",
                               labels={"in_scope": "目录内自付", "out_of_scope": "目录外自费"})
    (bars,) = fig.data
    assert list(bars.y) == ["目录外自费", "目录内自付"]  # largest on top; the null row left out
    assert list(bars.x) == [5.0, 123.46]
    assert fig.layout.title.text == "各责任已付赔款（截至 2024-06-30）"


def test_breakdown_bar_rates_counts_and_county_names() -> None:
    rows = participation().filter(pl.col("county_code").is_not_null())
    rate = charts.breakdown_bar(rows, "county_code", "rate", "参保率", "Participation", AS_OF,
                                "en", value_kind="rate")
    assert list(rate.data[0].y) == ["三元区", "沙县区", "清流县", "明溪县"]
    assert rate.data[0].text[-1] == "30.00%"
    assert rate.layout.xaxis.tickformat == ".0%"
    count = charts.breakdown_bar(rows, "county_code", "enrolled", "参保人数", "Enrolled", AS_OF,
                                 "zh", value_kind="count")
    assert count.data[0].text[-1] == "12,345"
    with pytest.raises(ValueError, match="value_kind"):
        charts.breakdown_bar(rows, "county_code", "rate", "甲", "A", AS_OF,
                             value_kind="share")  # type: ignore[arg-type]


def test_settlement_lag_bars_in_bucket_order() -> None:
    zh = charts.settlement_lag_chart(lags(), AS_OF, "zh")
    (bars,) = zh.data
    assert list(bars.x) == ["0–7天", "8–15天", "90天以上"]
    assert list(bars.y) == [60, 30, 10]
    assert bars.customdata[0] == "60 件（占 60.0%）"
    assert bars.customdata[2] == "10 件（占 10.0%）"
    assert "2024 年度" in zh.layout.title.text
    en = charts.settlement_lag_chart(lags(), AS_OF, "en")
    assert list(en.data[0].x) == ["0–7 days", "8–15 days", "over 90 days"]
    assert list(en.layout.xaxis.categoryarray) == ["0–7 days", "8–15 days", "over 90 days"]


def test_claim_size_counts_with_the_amount_on_hover() -> None:
    (bars,) = charts.claim_size_chart(sizes(), AS_OF, "zh").data
    assert list(bars.x) == ["<1千", "≥50万"]
    assert list(bars.y) == [3, 1]
    assert bars.customdata[0] == "3 件（占 75.0%），赔款 0.15 万元"
    assert bars.customdata[1] == "1 件（占 25.0%），赔款 123.46 万元"
    (english,) = charts.claim_size_chart(sizes(), AS_OF, "en").data
    assert list(english.x) == ["< 1k", "≥ 500k"]


# --- costs and surplus -------------------------------------------------------------------------


def test_expense_breakdown_stacks_translated_categories_in_wan_yuan() -> None:
    fig = charts.expense_breakdown(expenses(), AS_OF, "zh")
    assert fig.layout.barmode == "relative"
    operations, it = fig.data  # the schema's order: operations before it
    assert (operations.name, it.name) == ("运营", "信息化")
    # Insurer A on top: horizontal bars list the bottom first; B has no name and shows its id.
    assert list(operations.y) == ["B", "甲保险"]
    assert list(operations.x) == [5.0, 123.46]
    assert list(it.x) == [None, 2.0]
    en = charts.expense_breakdown(expenses(), AS_OF, "en")
    assert [trace.name for trace in en.data] == ["Operations", "IT"]


def test_combined_ratio_by_insurer_with_the_ceiling() -> None:
    fig = charts.combined_ratio_by_insurer(insurers_2024(), AS_OF, "zh", ceiling=0.95)
    (bars,) = fig.data
    assert list(bars.y) == ["乙保险", "甲保险"]  # the jurisdiction row is not an insurer
    assert list(bars.x) == [0.90, 0.97]
    assert list(bars.marker.color) == [charts.BLUE, charts.RED]  # 97 % is above 95 %
    assert shape_positions(fig, "x") == [0.95]
    assert "上限 95%" in annotation_texts(fig)


def test_pool_waterfall_by_hand() -> None:
    fig = charts.pool_waterfall(finance(), AS_OF, "zh")
    (waterfall,) = fig.data
    assert isinstance(waterfall, go.Waterfall)
    assert list(waterfall.x) == ["期初余额", "2023 − 动用", "2023 + 转入", "2024 − 动用",
                                 "2024 + 转入", "期末余额"]
    assert list(waterfall.measure) == ["absolute", "relative", "relative", "relative",
                                       "relative", "total"]
    # 万元: 100 − 20 + 0 − 0 + 35 = 115 = the closing balance of 1,150,000 yuan.
    assert list(waterfall.y) == [100.0, -20.0, 0.0, 0.0, 35.0, 115.0]
    assert sum(waterfall.y[:-1]) == waterfall.y[-1]
    assert list(waterfall.text) == ["100.00", "-20.00", "+0.00", "+0.00", "+35.00", "115.00"]
    en = charts.pool_waterfall(finance(), AS_OF, "en")
    assert en.data[0].x[0] == "Opening balance" and en.data[0].x[-1] == "Closing balance"


def test_no_pool_is_an_empty_state() -> None:
    no_pool = finance().with_columns(pl.lit(None, pl.Float64).alias("pool_open"))
    fig = charts.pool_waterfall(no_pool, AS_OF, "zh")
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == "暂无数据：未设结余滚存资金池"


# --- claims development ------------------------------------------------------------------------


def test_the_triangle_heat_map_is_in_wan_yuan_with_the_amount_on_hover() -> None:
    (cells,) = charts.development_heatmap(development(), "zh").data
    assert isinstance(cells, go.Heatmap)
    assert list(cells.y) == ["2022", "2023", "2024"] and list(cells.x) == [1, 2, 3]
    # 150,000 yuan = 15 万元; a period not reached yet is blank, not 0
    assert [list(row) for row in cells.z] == [[10.0, 15.0, 16.0], [12.0, 18.0, None],
                                              [5.0, None, None]]
    assert cells.customdata[1][1] == "2023 年度第 2 期：18.00 万元"
    assert cells.customdata[2][1] == ""
    assert cells.texttemplate == "%{text}" and cells.text[0][2] == "16.00"
    english = charts.development_heatmap(development(), "en")
    assert english.data[0].customdata[0][0] == "2022, period 1: 10.00 万元"
    assert english.layout.xaxis.title.text == "Development period (years)"


def test_month_grain_leaves_the_cells_unlabelled() -> None:
    base = development()
    monthly = Development(AS_OF, "month", base.origins, None,
                          tuple((*row, *([None] * 10)) for row in base.triangle))
    (cells,) = charts.development_heatmap(monthly, "zh").data
    assert cells.texttemplate is None and len(cells.x) == 13
    assert charts.development_heatmap(monthly, "zh").layout.xaxis.title.text == "进展期（月）"


def test_development_curves_one_line_per_year_and_the_projection_dotted() -> None:
    fig = charts.development_curves(development(), "zh")
    assert [t.name for t in fig.data] == [
        "2022 年度", "2023 年度（进展中）", "2023 年度（链梯法预测）", "2024 年度（进展中）",
        "2024 年度（链梯法预测）"]
    assert [list(t.x) for t in fig.data] == [[1, 2, 3], [1, 2], [2, 3], [1], [1, 2, 3]]
    # in 万元: 2023 180,000 → 192,000; 2024 50,000 → 75,000 → 80,000
    assert [list(t.y) for t in fig.data] == [[10.0, 15.0, 16.0], [12.0, 18.0], [18.0, 19.2],
                                             [5.0], [5.0, 7.5, 8.0]]
    assert [t.line.dash for t in fig.data] == [None, None, "dot", None, "dot"]
    assert fig.data[1].line.color == fig.data[2].line.color != fig.data[3].line.color
    assert [t.showlegend for t in fig.data] == [None, None, False, None, False]
    assert fig.data[1].customdata[1] == "18.00 万元"
    assert fig.data[4].customdata[2] == "8.00 万元"


def test_projected_loss_ratio_with_mack_error_bars_and_the_expected_line() -> None:
    fig = charts.projected_loss_ratio_chart(development(), "zh")
    paid, projected = fig.data
    assert list(projected.x) == ["2022", "2023", "2024"]
    # 160,000 / 200,000, 192,000 / 240,000, 90,000 / 100,000
    assert list(projected.y) == pytest.approx([0.8, 0.8, 80_000 / 90_000])
    # 0 / 200,000, 4,000 / 240,000, 10,000 / 90,000
    assert list(projected.error_y.array) == pytest.approx([0.0, 4_000 / 240_000, 1 / 9])
    # paid: 160,000 / 200,000, 180,000 / 240,000, 50,000 / 90,000
    assert list(paid.y) == pytest.approx([0.8, 0.75, 5 / 9])
    assert list(projected.marker.opacity) == [1.0, 0.55, 0.55]  # provisional years paler
    assert "仍在进展，为暂定预测" in projected.customdata[2]
    assert "预计最终赔付率 88.9%（±11.1 个百分点）" in projected.customdata[2]
    assert shape_positions(fig, "y") == [0.85]
    assert "要求赔付率 85%" in annotation_texts(fig)


def test_without_an_expected_ratio_no_line_is_drawn() -> None:
    fig = charts.projected_loss_ratio_chart(development(expected=None), "en")
    assert not fig.layout.shapes and len(fig.data) == 2
