"""The meeting brief (contract §7): what a working group (工作专班) tables, as a PDF.

:func:`brief_content` gathers the figures of one policy year as a scope sees them, in one
language, ready to typeset: the headline figures with the change since the previous year and
since the previous brief, every critical alert of the year as the rule engine states it (its
message is never reworded here), the county map and the participation ranking, the loss and
combined ratios by year with the projection of a year still developing, the pool, and one line of
data quality. :func:`make_brief` typesets it (hmb.report.typeset).

Every figure is read through :func:`hmb.access.scoping.scoped_connection`, as the app's pages
read them: a county supervisor's brief is computed from her county's rows only, and the alerts
are the engine's verdicts on the whole jurisdiction cut to the ones her scope may see
(:func:`hmb.access.scoping.visible_alerts`), so no other county's name or figure can appear.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from hmb.access import scoping
from hmb.access.scoping import DataScope
from hmb.core.counties import counties, county_name
from hmb.core.formatting import in_wan, percent, points
from hmb.core.labels import Lang, label
from hmb.ingest.dataset import Dataset
from hmb.judge import rules
from hmb.judge.alerts import Alert
from hmb.measure import metrics
from hmb.measure.development import DEFAULT_GRAIN, Development, development
from hmb.report import county_map, history
from hmb.report.county_map import Shade
from hmb.report.typeset import typeset
from hmb.rulebook.profiles import Profile

MAX_PAGES = 6

# Fills of the map: below the rule's critical threshold, below its warning, at or above it; a
# jurisdiction without a county rule is shaded in four steps of blue.
RED, AMBER, GREEN, GREY = "#c0392b", "#e6a23c", "#3a8f5c", "#d9d9d9"
BLUES = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")

TEXT: dict[str, dict[Lang, str]] = {
    "title": {"zh": "惠民保工作专班简报", "en": "惠民保 working-group brief"},
    "whole": {"zh": "全域", "en": "whole jurisdiction"},
    "as_of": {"zh": "统计截至", "en": "as of"},
    "data": {"zh": "数据指纹", "en": "data fingerprint"},
    "rulebook": {"zh": "规则版本", "en": "rulebook version"},
    "headline": {"zh": "一、主要指标", "en": "1. Headline figures"},
    "figure": {"zh": "指标", "en": "Figure"},
    "since_year": {"zh": "较上年", "en": "Since last year"},
    "since_brief": {"zh": "较上次简报", "en": "Since the last brief"},
    "no_previous_brief": {
        "zh": "此前没有同一范围、不同数据的简报记录，无从比较。",
        "en": "No earlier brief of this scope on other figures is recorded: nothing to compare.",
    },
    "previous_brief": {"zh": "上次简报：统计截至 {as_of}，生成于 {at}（审计日志 #{seq}）。",
                       "en": "Last brief: as of {as_of}, made {at} (audit trail #{seq})."},
    "alerts": {"zh": "二、严重预警", "en": "2. Critical alerts"},
    "no_alerts": {"zh": "本年度没有严重预警。", "en": "No critical alert this year."},
    "place": {"zh": "地点", "en": "Place"},
    "verdict": {"zh": "判定", "en": "Verdict"},
    "gap": {"zh": "差距", "en": "Gap"},
    "basis": {"zh": "依据", "en": "Under"},
    "map": {"zh": "三、各区县参保率", "en": "3. Participation by county"},
    "rank": {"zh": "排名", "en": "Rank"},
    "county": {"zh": "区县", "en": "County"},
    "no_map": {"zh": "本范围没有区县参保数据。", "en": "No county participation in this scope."},
    "ratios": {"zh": "四、赔付率与综合成本率", "en": "4. Loss and combined ratios"},
    "year": {"zh": "年度", "en": "Year"},
    "projection": {"zh": "预计最终赔付率", "en": "Projected ultimate loss ratio"},
    "projection_note": {
        "zh": "仍在进展的年度按链梯法（已付赔款进展三角形，按月）预计最终赔款，± 为 Mack 标准误；"
              "保险期内的年度按全年签单保费计。",
        "en": "A year still developing is projected by the chain ladder on paid claims (monthly"
              " development), ± Mack's standard error; a year still in force over its whole"
              " year's written premium.",
    },
    "pool": {"zh": "五、结余资金池", "en": "5. Carry-forward pool"},
    "pool_open": {"zh": "年初余额", "en": "Opening"},
    "pool_draw": {"zh": "动用", "en": "Drawn"},
    "pool_in": {"zh": "超额结余转入", "en": "Excess surplus in"},
    "pool_close": {"zh": "年末余额", "en": "Closing"},
    "no_pool": {"zh": "本地规则不设结余资金池。", "en": "The rulebook keeps no pool."},
    "no_finance": {"zh": "本范围不含保险公司经营数据（费用、资金池）。",
                   "en": "This scope holds no insurer finance (expenses, pool)."},
    "quality": {"zh": "数据质量", "en": "Data quality"},
    "quality_line": {"zh": "读入 {read} 行，接受 {accepted} 行，隔离 {quarantined} 行{detail}。",
                     "en": "{read} rows read, {accepted} accepted, {quarantined}"
                           " quarantined{detail}."},
    "quality_scoped": {"zh": "本范围：接受 {accepted} 行，隔离 {quarantined} 行{detail}。",
                       "en": "In this scope: {accepted} rows accepted, {quarantined}"
                             " quarantined{detail}."},
    "legend_none": {"zh": "无数据", "en": "no data"},
    "below_critical": {"zh": "低于 {t}", "en": "below {t}"},
    "below_warning": {"zh": "{c} 至 {t}", "en": "{c} to {t}"},
    "at_least": {"zh": "达到 {t}", "en": "{t} or more"},
    "page": {"zh": "第 {page} 页，共 {total} 页", "en": "page {page} of {total}"},
}


def text(key: str, lang: Lang, **values: Any) -> str:
    return TEXT[key][lang].format(**values)


class BriefError(ValueError):
    """A brief that cannot be made as asked (an unknown county, a year not in the data)."""


@dataclass(frozen=True)
class Brief:
    """What the PDF shows, and what the audit trail keeps of it."""

    content: dict[str, Any]
    map_svg: str
    figures: dict[str, Any]
    fingerprint: str
    details: dict[str, Any] = field(default_factory=dict)


def brief_scope(county: str | None) -> DataScope:
    """The scope of a brief made on the command line: the leadership's (everything, no member
    IDs), or a county supervisor's of one county."""
    if county is None:
        return scoping.scope_for("leadership")
    return scoping.scope_for("county_supervisor", [county])


def policy_years(con: duckdb.DuckDBPyConnection) -> list[int]:
    rows = con.execute(
        "select distinct policy_year from basic_insured union"
        " select distinct policy_year from enrollment_cube order by 1"
    ).fetchall()
    return [int(row[0]) for row in rows]


def check_request(profile: Profile, dataset: Dataset, year: int | None,
                  county: str | None) -> int:
    """The policy year of the brief (the latest in the data by default), or BriefError."""
    known = {c.code: c.name_zh for c in counties(profile.jurisdiction.adcode)}
    if county is not None and county not in known:
        example = ", ".join(f"{code} {name}" for code, name in list(known.items())[:3])
        raise BriefError(
            f"--county {county!r} 不是{profile.jurisdiction.name_zh}的区县代码"
            f"（共 {len(known)} 个，例如 {example}）。 {county!r} is not a county of"
            f" {profile.jurisdiction.name_en}"
            f" ({len(known)} counties, e.g. {example}): give a 6-digit county code of the"
            " jurisdiction (GB/T 2260)."
        )
    with scoping.scoped_connection(dataset.store, scoping.SYSTEM) as con:
        years = policy_years(con)
    if not years:
        raise BriefError(
            f"{dataset.folder}: 数据中没有任何保单年度。 The data holds no policy year:"
            " check the enrollment and basic_insured tables (`hmb validate`)."
        )
    if year is None:
        return years[-1]
    if year not in years:
        raise BriefError(
            f"--year {year}: 数据中没有该保单年度（有 {', '.join(map(str, years))}）。"
            f" Policy year {year} is not in the data ({', '.join(map(str, years))}): give one"
            " of those."
        )
    return year


def brief_content(
    profile: Profile,
    dataset: Dataset,
    as_of: date,
    year: int,
    scope: DataScope,
    *,
    lang: Lang = "zh",
) -> Brief:
    """The brief of ``year`` as ``scope`` sees it, in ``lang``, compared with no earlier brief
    (:func:`since_previous` adds that comparison)."""
    with scoping.scoped_connection(dataset.store, scoping.SYSTEM) as system:
        verdict = rules.evaluate(system, profile, as_of)
    with scoping.scoped_connection(dataset.store, scope) as con:
        part = metrics.participation(con, as_of)
        finance = [r for r in metrics.finance_rows(con, profile, as_of) if r.insurer_id is None]
        projected = development(con, profile, as_of, DEFAULT_GRAIN)
        quality = _quality(con, dataset, scope, lang)
    alerts = [a for a in scoping.visible_alerts(scope, verdict.alerts)
              if a.severity == "critical" and a.scope.policy_year == year]
    codes = _map_codes(profile, scope, part, year)
    figures = _figures(part, finance, year, scope, profile)
    figures["critical_alerts"] = sorted(a.id for a in alerts)
    fingerprint = hashlib.sha256(
        json.dumps(figures, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()[:16]
    shades, legend = _shades(profile, part, year, codes, lang)
    place = _scope_place(profile, scope, lang)
    footer = (f"{text('as_of', lang)} {as_of.isoformat()} · {text('data', lang)}"
              f" {dataset.fingerprint} · {text('rulebook', lang)} {profile.name}"
              f" {profile.version}")
    jurisdiction = profile.jurisdiction.name_zh if lang == "zh" else profile.jurisdiction.name_en
    content: dict[str, Any] = {
        "lang": lang,
        "as_of": [as_of.year, as_of.month, as_of.day],
        "title": text("title", lang),
        "subtitle": (f"{jurisdiction} · {place} · {year}{'年度' if lang == 'zh' else ''}"
                     f" · {text('as_of', lang)} {as_of.isoformat()}"),
        "document": f"{profile.document.number} {profile.document.title}",
        "footer": footer,
        "page": text("page", lang, page="{page}", total="{total}"),
        "headline": _headline_section(figures, year, None, lang),
        "alerts": _alert_section(profile, alerts, lang),
        "map": _map_section(part, year, codes, legend=legend, lang=lang, shades=shades),
        "ratios": _ratio_section(finance, projected, scope, lang),
        "pool": _pool_section(profile, finance, scope, lang),
        "quality": {"title": text("quality", lang), "line": quality},
    }
    svg = county_map.county_svg(codes, shades) if codes else ""
    details = {
        "kind": "brief",
        "profile": profile.name,
        "policy_year": year,
        "counties": None if scope.counties is None else sorted(scope.counties),
        "as_of": as_of.isoformat(),
        "lang": lang,
        "data_fingerprint": dataset.fingerprint,
        "rulebook_version": profile.version,
        "figures_fingerprint": fingerprint,
        "figures": figures,
    }
    return Brief(content, svg, figures, fingerprint, details)


def since_previous(brief: Brief, previous: history.PreviousBrief | None) -> Brief:
    """The brief with its headline figures compared with ``previous``: the last brief recorded
    for the same scope on other figures (hmb.report.history.previous_brief)."""
    lang = brief.content["lang"]
    headline = _headline_section(brief.figures, brief.details["policy_year"], previous, lang)
    return replace(brief, content={**brief.content, "headline": headline})


def make_brief(brief: Brief) -> bytes:
    """The PDF of a brief (A4, fonts embedded, the same bytes for the same brief), set more
    tightly (smaller type, a smaller map, the ranking in three columns) when it would run past
    :data:`MAX_PAGES`, as a province with many critical alerts can."""
    day = date(*brief.content["as_of"])
    for compact in (0, 1, 2):
        pdf = typeset("brief.typ", {**brief.content, "compact": compact},
                      {"map": brief.map_svg}, day)
        if page_count(pdf) <= MAX_PAGES:
            break
    return pdf


def page_count(pdf: bytes) -> int:
    """The pages of a PDF Typst wrote (its page tree's ``/Count``)."""
    found = re.search(rb"/Type\s*/Pages\s*/Count\s+(\d+)", pdf)
    return int(found.group(1)) if found else 0


# -- figures ---------------------------------------------------------------------------------


HEADLINE = ("enrolled", "participation_rate", "written_premium", "claims_paid", "loss_ratio",
            "combined_ratio", "pool_close")
RATES = frozenset({"participation_rate", "loss_ratio", "combined_ratio"})
INSURER_FINANCE = frozenset({"combined_ratio", "pool_close"})


def _row(frame: pl.DataFrame, year: int, county: str | None) -> dict[str, Any] | None:
    rows = frame.filter(
        (pl.col("policy_year") == year)
        & (pl.col("county_code").is_null() if county is None else pl.col("county_code") == county)
    )
    return rows.row(0, named=True) if rows.height else None


def _figures(part: pl.DataFrame, finance: Sequence[metrics.FinanceRow], year: int,
             scope: DataScope, profile: Profile) -> dict[str, Any]:
    """The headline figures of ``year`` and the year before, as plain numbers (what the audit
    trail keeps, and what the next brief compares with). Participation is the scope's total
    row: the jurisdiction's, or a county supervisor's counties'."""
    by_year = {row.policy_year: row for row in finance}
    figures: dict[str, Any] = {}
    for key, when in (("this", year), ("last", year - 1)):
        participation = _row(part, when, None)
        money = by_year.get(when)
        values: dict[str, float | int | None] = {
            "enrolled": None if participation is None else int(participation["enrolled"]),
            "participation_rate": None if participation is None else participation["rate"],
            "written_premium": _money(money.written_premium) if money else None,
            "claims_paid": _money(money.claims_paid) if money else None,
            "loss_ratio": money.loss_ratio if money else None,
        }
        if scope.may_see_finance and not scope.limited:
            values["combined_ratio"] = money.combined_ratio if money else None
            if profile.keeps_pool(when):
                values["pool_close"] = _money(money.pool_close) if money else None
        figures[key] = {k: (round(v, 10) if isinstance(v, float) else v)
                        for k, v in values.items()}
    return figures


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(metrics.to_fen(value))


def _value_text(key: str, value: float | None, lang: Lang) -> str:
    if value is None:
        return "—"
    if key in RATES:
        return percent(value)
    if key == "enrolled":
        return f"{int(value):,} {'人' if lang == 'zh' else 'people'}"
    return wan(value, lang)


def _change_text(key: str, now: float | None, before: float | None, lang: Lang) -> str:
    if now is None or before is None:
        return "—"
    change = now - before
    if key in RATES:
        return _points(change, lang)
    if key == "enrolled":
        return f"{int(change):+,} {'人' if lang == 'zh' else 'people'}"
    return wan(change, lang, signed=True)


def _points(gap: float, lang: Lang, signed: bool = True) -> str:
    shown = points(gap)
    if not signed:
        shown = shown.lstrip("+-")
    return shown if lang == "zh" else shown.replace(" 个百分点", " pp")


def wan(amount: float, lang: Lang, signed: bool = False) -> str:
    """万元 as the brief and the disclosure print them: '1,234.57 万元', '1,234.57 × 10⁴ yuan'."""
    value = f"{in_wan(amount):{'+' if signed else ''},.2f}"
    return f"{value} 万元" if lang == "zh" else f"{value} × 10⁴ yuan"


def _headline_section(figures: dict[str, Any], year: int, previous: history.PreviousBrief | None,
                      lang: Lang) -> dict[str, Any]:
    this, last = figures["this"], figures["last"]
    before = previous.figures.get("this", {}) if previous else {}
    rows = [
        [label("metric", key, lang), _value_text(key, this[key], lang),
         _change_text(key, this[key], last.get(key), lang),
         _change_text(key, this[key], before.get(key), lang) if previous else "—"]
        for key in HEADLINE if key in this
    ]
    note = (text("previous_brief", lang, as_of=previous.as_of, at=previous.at[:16],
                 seq=previous.seq) if previous else text("no_previous_brief", lang))
    return {
        "title": text("headline", lang),
        "columns": [text("figure", lang), str(year), text("since_year", lang),
                    text("since_brief", lang)],
        "rows": rows,
        "note": note,
    }


# -- alerts ----------------------------------------------------------------------------------


def _place(profile: Profile, alert: Alert, lang: Lang) -> str:
    scope = alert.scope
    if scope.county_code:
        place = county_name(scope.county_code) or scope.county_code
        place += f"（{scope.county_code}）" if lang == "zh" else f" ({scope.county_code})"
    else:
        place = profile.jurisdiction.name_zh if lang == "zh" else profile.jurisdiction.name_en
    if scope.subsidy_group:
        place += f" · {label('subsidy_group', scope.subsidy_group, lang)}"
    if scope.insurer_id:
        place += f" · {scope.insurer_id}"
    return place


def gap_text(alert: Alert, lang: Lang) -> str:
    """The gap in the regulator's units: 个百分点, 万元, 人 (and days or counts)."""
    parts: list[str] = []
    gap = alert.gap
    if gap is not None:
        if alert.gap_unit == "pp":
            parts.append(_points(gap / 100, lang, signed=False))
        elif alert.gap_unit in ("yuan", "wan_yuan"):
            parts.append(wan(abs(gap) * (10_000 if alert.gap_unit == "wan_yuan" else 1), lang))
        elif alert.gap_unit == "people":
            parts.append(f"{abs(gap):,.0f} {'人' if lang == 'zh' else 'people'}")
        elif alert.gap_unit == "insurers":
            parts.append(f"{abs(gap):,.0f} {'家' if lang == 'zh' else 'insurers'}")
        elif alert.gap_unit == "days":
            parts.append(f"{abs(gap):,.0f} {label('unit', 'days', lang)}")
        else:
            parts.append(f"{abs(gap):,.0f}")
    people_short = alert.details.get("shortfall_people")
    if people_short:
        parts.append(f"{int(people_short):,} {'人' if lang == 'zh' else 'people'}")
    excess = alert.details.get("excess_amount")
    if excess:
        parts.append(wan(float(excess), lang))
    return " · ".join(parts) or "—"


def _alert_section(profile: Profile, alerts: Sequence[Alert], lang: Lang) -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    titles = {rule.id: (rule.title_zh if lang == "zh" else rule.title_en)
              for rule in profile.rules}
    for alert in alerts:
        if not groups or groups[-1]["rule_id"] != alert.rule_id:
            cite = alert.citation
            groups.append({
                "rule_id": alert.rule_id,
                "title": titles.get(alert.rule_id, alert.rule_id),
                "basis": f"{text('basis', lang)} {cite.document} {cite.clause or ''}".strip(),
                "quote": cite.quote or "",
                "local": cite.local_parameter or "",
                "rows": [],
            })
        groups[-1]["rows"].append([
            _place(profile, alert, lang),
            alert.message_zh if lang == "zh" else alert.message_en,
            gap_text(alert, lang),
        ])
    return {
        "title": text("alerts", lang),
        "columns": [text("place", lang), text("verdict", lang), text("gap", lang)],
        "groups": groups,
        "empty": text("no_alerts", lang),
    }


# -- the map and the ranking -----------------------------------------------------------------


def _map_codes(profile: Profile, scope: DataScope, part: pl.DataFrame, year: int) -> list[str]:
    """The counties the map draws: the jurisdiction's, or only those of a limited scope."""
    if scope.counties is not None:
        return sorted(scope.counties)
    codes = [c.code for c in counties(profile.jurisdiction.adcode)]
    in_data = {str(c) for c in part.filter(pl.col("policy_year") == year)["county_code"]
               if c is not None}
    return sorted(set(codes) | {c for c in in_data if county_name(c)})


def _shades(profile: Profile, part: pl.DataFrame, year: int, codes: Sequence[str],
            lang: Lang) -> tuple[dict[str, Shade], list[list[str]]]:
    rates = {
        str(row["county_code"]): row["rate"]
        for row in part.filter(pl.col("policy_year") == year).iter_rows(named=True)
        if row["county_code"] is not None and row["rate"] is not None
        and row["county_code"] in codes
    }
    rule = profile.rule_on("participation_rate", "county")
    shades: dict[str, Shade] = {}
    legend: list[list[str]] = []
    if rule is not None and rule.critical is not None:
        critical = float(rule.critical)
        warning = float(rule.warning) if rule.warning is not None else critical
        classes = [
            (RED, text("below_critical", lang, t=percent(critical, 0))),
            (AMBER, text("below_warning", lang, c=percent(critical, 0), t=percent(warning, 0))),
            (GREEN, text("at_least", lang, t=percent(max(warning, critical), 0))),
        ]
        for code, rate in rates.items():
            index = 0 if rate < critical - 1e-12 else 1 if rate < warning - 1e-12 else 2
            shades[code] = Shade(*classes[index])
        legend = [list(c) for c in classes if warning > critical or c[0] != AMBER]
    elif rates:
        low, high = min(rates.values()), max(rates.values())
        width = (high - low) / len(BLUES) or 1.0
        bounds = [(low + i * width, low + (i + 1) * width) for i in range(len(BLUES))]
        for code, rate in rates.items():
            index = min(int((rate - low) / width), len(BLUES) - 1)
            shades[code] = Shade(BLUES[index], "")
        legend = [[fill, f"{percent(a, 1)} – {percent(b, 1)}"]
                  for fill, (a, b) in zip(BLUES, bounds, strict=True)]
    if any(code not in rates for code in codes):
        legend.append([GREY, text("legend_none", lang)])
    return shades, legend


def _map_section(part: pl.DataFrame, year: int, codes: Sequence[str], *,
                 legend: list[list[str]], lang: Lang,
                 shades: dict[str, Shade]) -> dict[str, Any]:
    rows = part.filter((pl.col("policy_year") == year) & pl.col("county_code").is_not_null()
                       & pl.col("county_code").is_in(list(codes)))
    ranked = sorted(rows.iter_rows(named=True),
                    key=lambda r: (-(r["rate"] if r["rate"] is not None else -1),
                                   r["county_code"]))
    table = [
        [str(i), county_name(r["county_code"]) or r["county_code"],
         f"{int(r['enrolled']):,}", f"{int(r['insured_base']):,}", percent(r["rate"]),
         shades[r["county_code"]].fill if r["county_code"] in shades else GREY]
        for i, r in enumerate(ranked, start=1)
    ]
    return {
        "title": text("map", lang),
        "columns": [text("rank", lang), text("county", lang), label("metric", "enrolled", lang),
                    label("metric", "insured_base", lang),
                    label("metric", "participation_rate", lang)],
        "rows": table,
        "legend": legend,
        "has_map": bool(codes),
        "empty": text("no_map", lang),
    }


# -- ratios, projection and the pool ---------------------------------------------------------


def _ratio_section(finance: Sequence[metrics.FinanceRow], projected: Development,
                   scope: DataScope, lang: Lang) -> dict[str, Any]:
    insurer_finance = scope.may_see_finance and not scope.limited
    columns = [text("year", lang), label("metric", "written_premium", lang),
               label("metric", "claims_paid", lang), label("metric", "loss_ratio", lang)]
    if insurer_finance:
        columns.append(label("metric", "combined_ratio", lang))
    columns.append(text("projection", lang))
    rows = []
    for row in finance:
        cells = [str(row.policy_year), wan(_money(row.written_premium) or 0.0, lang),
                 wan(_money(row.claims_paid) or 0.0, lang), percent(row.loss_ratio)]
        if insurer_finance:
            cells.append(percent(row.combined_ratio))
        cells.append(_projection(projected, row.policy_year, lang))
        rows.append(cells)
    return {
        "title": text("ratios", lang),
        "columns": columns,
        "rows": rows,
        "note": text("projection_note", lang),
        "restricted": "" if insurer_finance else text("no_finance", lang),
    }


def _projection(projected: Development, year: int, lang: Lang) -> str:
    origin = projected.origin(year)
    if origin is None or not projected.developing(origin) or origin.latest == 0:
        return "—"
    if projected.in_force(origin):
        ratio, spread = origin.full_year_loss_ratio, origin.full_year_loss_ratio_se
    else:
        ratio, spread = origin.projected_loss_ratio, origin.loss_ratio_se
    if ratio is None:
        return "—"
    shown = percent(ratio)
    if spread:
        shown += f" ± {_points(spread, lang, signed=False)}"
    return shown


def _pool_section(profile: Profile, finance: Sequence[metrics.FinanceRow], scope: DataScope,
                  lang: Lang) -> dict[str, Any]:
    section: dict[str, Any] = {"title": text("pool", lang), "columns": [], "rows": [],
                               "note": ""}
    if not scope.may_see_finance or scope.limited:
        section["note"] = text("no_finance", lang)
        return section
    rows = [r for r in finance if r.pool_close is not None]
    if not rows:
        section["note"] = text("no_pool", lang)
        return section
    section["columns"] = [text("year", lang), text("pool_open", lang), text("pool_draw", lang),
                          text("pool_in", lang), text("pool_close", lang)]
    section["rows"] = [
        [str(r.policy_year), wan(_money(r.pool_open) or 0.0, lang),
         wan(_money(r.pool_draw) or 0.0, lang), wan(_money(r.excess_surplus) or 0.0, lang),
         wan(_money(r.pool_close) or 0.0, lang)]
        for r in rows
    ]
    return section


# -- data quality ----------------------------------------------------------------------------


def _quality(con: duckdb.DuckDBPyConnection, dataset: Dataset, scope: DataScope,
             lang: Lang) -> str:
    """Rows read and quarantined, in one line: the export's, or for a limited scope the rows of
    its counties (the export's totals are jurisdiction-wide)."""
    if not scope.limited:
        tables = dataset.report["tables"]
        read = sum(int(t["rows_read"]) for t in tables.values())
        accepted = sum(int(t["rows_accepted"]) for t in tables.values())
        quarantined = {name: int(t["rows_quarantined"]) for name, t in tables.items()}
        key = "quality_line"
    else:
        views = {str(r[0]) for r in con.execute(
            "select view_name from duckdb_views() where database_name = 'memory'").fetchall()}
        accepted = int(con.execute(
            "select coalesce(sum(enrolments), 0) from enrollment_cube").fetchall()[0][0])
        for name in ("claims", "basic_insured", "subsidy_eligible"):
            if name in views:
                accepted += int(con.execute(f"select count(*) from {name}").fetchall()[0][0])
        quarantined = {
            name.removeprefix("quarantine_"):
                int(con.execute(f'select count(*) from "{name}"').fetchall()[0][0])
            for name in sorted(views) if name.startswith("quarantine_")
        }
        read = accepted + sum(quarantined.values())
        key = "quality_scoped"
    detail = "、".join(f"{label('table', name, lang)} {n:,}"
                      for name, n in sorted(quarantined.items()) if n)
    if detail:
        detail = f"（{detail}）" if lang == "zh" else f" ({detail.replace('、', ', ')})"
    return text(key, lang, read=f"{read:,}", accepted=f"{accepted:,}",
                quarantined=f"{sum(quarantined.values()):,}", detail=detail)


def _scope_place(profile: Profile, scope: DataScope, lang: Lang) -> str:
    if scope.counties is None:
        return text("whole", lang)
    return "、".join(county_name(code) or code for code in sorted(scope.counties))
