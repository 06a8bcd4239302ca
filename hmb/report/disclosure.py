"""The public disclosure 湖南 湘政办发〔2024〕5号 四（六） asks for: “定期向社会公开参保、结算、
收支等信息” — participation, settlements, income and expenditure by period.

Public, so nothing in it is about a person: no member-level row is read (only the counts and sums
of hmb.measure and of two queries), and a cell counting fewer people or claims than
``HMB_DISCLOSURE_MIN_COUNT`` (a local parameter, default 10) is printed as ``<N`` with its amount
and rate left out, so that a small group cannot be recognised. The jurisdiction's totals are
shown whole (a county's suppressed figure cannot be worked out from them when at least two cells
are suppressed, or none). A single suppressed county would be given away by the total minus the
others: the next-smallest county is then suppressed too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

import queries
from hmb.access import scoping
from hmb.core.counties import county_name
from hmb.core.formatting import percent
from hmb.core.labels import Lang, label
from hmb.core.settings import settings
from hmb.ingest.dataset import Dataset
from hmb.measure import metrics
from hmb.report.brief import TEXT as BRIEF_TEXT
from hmb.report.brief import wan
from hmb.report.typeset import typeset
from hmb.rulebook.profiles import Profile

HUNAN_DOCUMENT = "湘政办发〔2024〕5号"

# The words the brief prints too (the footer, the county column) come from the brief.
TEXT: dict[str, dict[Lang, str]] = {
    **{key: BRIEF_TEXT[key] for key in ("county", "as_of", "data", "rulebook", "page")},
    "title": {"zh": "惠民保运行情况公开", "en": "惠民保 public disclosure"},
    "basis": {"zh": "依据 湘政办发〔2024〕5号 四（六）：“定期向社会公开参保、结算、收支等信息”。",
              "en": "Under 湘政办发〔2024〕5号 四（六）: “publish enrolment, settlement, income and"
                    " expenditure regularly”."},
    "modelled": {"zh": "参照 湖南 湘政办发〔2024〕5号 四（六）：“定期向社会公开参保、结算、"
                       "收支等信息”（本地政策文件未作此规定）。",
                 "en": "Modelled on 湖南 湘政办发〔2024〕5号 四（六）: “publish enrolment,"
                       " settlement, income and expenditure regularly” (the local document sets"
                       " no such duty)."},
    "participation": {"zh": "一、参保情况", "en": "1. Enrolment"},
    "settlements": {"zh": "二、结算情况", "en": "2. Settlements"},
    "income": {"zh": "三、收支情况", "en": "3. Income and expenditure"},
    "total": {"zh": "合计", "en": "Total"},
    "quarter": {"zh": "季度", "en": "Quarter"},
    "claims": {"zh": "结算件数", "en": "Claims settled"},
    "enrolments": {"zh": "缴费笔数", "en": "Payments"},
    "suppressed": {"zh": "“<{n}”：不足 {n} 人（件）的单元不公布数值，以免识别到个人。",
                   "en": "“<{n}”: a cell of fewer than {n} people or claims is not published, so"
                         " that no one can be recognised."},
    "expenses": {"zh": "经营费用（全年，按保险公司报告）",
                 "en": "Operating expenses (year, as reported)"},
}


def _t(key: str, lang: Lang, **values: Any) -> str:
    return TEXT[key][lang].format(**values)




def _quarter(year: int, quarter: int, lang: Lang) -> str:
    return f"{year} 年第 {quarter} 季度" if lang == "zh" else f"{year} Q{quarter}"


def suppressed_codes(counts: dict[str, int], minimum: int) -> set[str]:
    """The cells to suppress: those under ``minimum``, and the next-smallest when only one is
    (else the total would give it away)."""
    small = {code for code, n in counts.items() if n < minimum}
    if len(small) == 1 and len(counts) > 1:
        rest = sorted((n, code) for code, n in counts.items() if code not in small)
        small.add(rest[0][1])
    return small


def disclosure_content(profile: Profile, dataset: Dataset, as_of: date, year: int,
                       lang: Lang = "zh") -> dict[str, Any]:
    minimum = settings().disclosure_min_count
    public = scoping.scope_for("leadership")  # no member IDs; whole jurisdiction
    with scoping.scoped_connection(dataset.store, public) as con:
        part = metrics.participation(con, as_of).filter(pl.col("policy_year") == year)
        settled = queries.run(con, "settlements_by_quarter", as_of=as_of).filter(
            pl.col("policy_year") == year)
        income = queries.run(con, "premium_by_quarter", as_of=as_of).filter(
            pl.col("policy_year") == year)
        finance = [r for r in metrics.finance_rows(con, profile, as_of)
                   if r.insurer_id is None and r.policy_year == year]
    hidden = f"<{minimum}"
    counties = [r for r in part.iter_rows(named=True) if r["county_code"] is not None]
    small = suppressed_codes({r["county_code"]: int(r["enrolled"]) for r in counties}, minimum)
    rows = []
    for r in sorted(counties, key=lambda r: r["county_code"]):
        name = county_name(r["county_code"]) or r["county_code"]
        if r["county_code"] in small:
            rows.append([name, hidden, f"{int(r['insured_base']):,}", "—"])
        else:
            rows.append([name, f"{int(r['enrolled']):,}", f"{int(r['insured_base']):,}",
                         percent(r["rate"])])
    total = part.filter(pl.col("county_code").is_null())
    if total.height:
        t = total.row(0, named=True)
        rows.append([_t("total", lang), f"{int(t['enrolled']):,}", f"{int(t['insured_base']):,}",
                     percent(t["rate"])])

    def cells(count: int, amount: Any) -> list[str]:
        if count < minimum:
            return [hidden, "—"]
        return [f"{count:,}", wan(float(amount), lang)]

    settlement_rows = [
        [_quarter(r["settle_year"], r["settle_quarter"], lang), *cells(int(r["claims"]),
                                                                         r["claims_paid"])]
        for r in settled.iter_rows(named=True)
    ]
    income_rows = [
        [_quarter(r["enroll_year"], r["enroll_quarter"], lang),
         *cells(int(r["enrolments"]), r["written_premium"])]
        for r in income.iter_rows(named=True)
    ]
    summary: list[list[str]] = []
    if finance:
        f = finance[0]
        summary = [
            [label("metric", "written_premium", lang), wan(float(f.written_premium), lang)],
            [label("metric", "claims_paid", lang), wan(float(f.claims_paid), lang)],
            [_t("expenses", lang), wan(float(f.expenses), lang)],
            [label("metric", "loss_ratio", lang), percent(f.loss_ratio)],
        ]
    jurisdiction = profile.jurisdiction.name_zh if lang == "zh" else profile.jurisdiction.name_en
    return {
        "lang": lang,
        "as_of": [as_of.year, as_of.month, as_of.day],
        "title": _t("title", lang),
        "subtitle": (f"{jurisdiction} · {year}{'年度' if lang == 'zh' else ''}"
                     f" · {_t('as_of', lang)} {as_of.isoformat()}"),
        "basis": _t("basis" if profile.document.number == HUNAN_DOCUMENT else "modelled", lang),
        "footer": (f"{_t('as_of', lang)} {as_of.isoformat()} · {_t('data', lang)}"
                   f" {dataset.fingerprint} · {_t('rulebook', lang)} {profile.name}"
                   f" {profile.version}"),
        "page": _t("page", lang, page="{page}", total="{total}"),
        "sections": [
            {"title": _t("participation", lang),
             "columns": [_t("county", lang), label("metric", "enrolled", lang),
                         label("metric", "insured_base", lang),
                         label("metric", "participation_rate", lang)],
             "rows": rows},
            {"title": _t("settlements", lang),
             "columns": [_t("quarter", lang), _t("claims", lang),
                         label("metric", "claims_paid", lang)],
             "rows": settlement_rows},
            {"title": _t("income", lang),
             "columns": [_t("quarter", lang), _t("enrolments", lang),
                         label("metric", "written_premium", lang)],
             "rows": income_rows},
        ],
        "summary": summary,
        "note": _t("suppressed", lang, n=minimum),
    }


def make_disclosure(content: dict[str, Any]) -> bytes:
    return typeset("disclosure.typ", content, {}, date(*content["as_of"]))
