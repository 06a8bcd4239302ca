"""What changed between two exports of one jurisdiction (contract §8, ``hmb exports diff A B``
and the overview's "自上期数据以来…").

Each export is measured from its own store at its own as-of date (the data's latest date, as
``hmb metrics`` does without ``--as-of``); the published figures compared are, per policy year,
the whole jurisdiction's written premium, claims paid and loss ratio (contract §3, all insurers),
each county's participation rate and the jurisdiction's, and the alerts: one that fires in the
later export and not in the earlier appeared, the other way round resolved. A figure moved when
it differs by at least a fen (money) or 1e-9 (a ratio), or exists in one export only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from hmb.core.counties import county_name
from hmb.core.formatting import percent, points, wan_yuan
from hmb.core.labels import label
from hmb.ingest.dataset import Dataset
from hmb.judge import rules
from hmb.measure import metrics
from hmb.rulebook.profiles import Profile, load_profile, load_rulebook
from hmb.state.exports import ExportEntry, ExportGone, ExportRegister, open_export

FINANCE = ("written_premium", "claims_paid", "loss_ratio")
RATIOS = frozenset({"loss_ratio", "rate"})
MONEY_STEP = 0.005  # half a fen: a difference that rounds to a fen
RATIO_STEP = 1e-9


class DiffError(Exception):
    """Two exports that cannot be compared; ``str()`` is the bilingual message."""


@dataclass(frozen=True)
class Figures:
    """The published figures of one export."""

    as_of: date
    finance: dict[int, dict[str, float | None]]
    participation: dict[tuple[int, str | None], float | None]
    alerts: dict[str, dict[str, Any]]


def profile_of(entry: ExportEntry) -> Profile:
    rulebook = entry.details.get("rulebook")
    return load_rulebook(Path(rulebook)) if rulebook else load_profile(entry.profile)


def figures(dataset: Dataset, profile: Profile) -> Figures:
    as_of = dataset.default_as_of
    if as_of is None:
        raise DiffError(f"{dataset.folder}: 没有任何被接受的日期 no accepted date to measure at")
    with dataset.connect() as con:
        finance = {
            row.policy_year: {m: _number(getattr(row, m)) for m in FINANCE}
            for row in metrics.finance_rows(con, profile, as_of) if row.insurer_id is None
        }
        participation = {
            (int(row["policy_year"]), row["county_code"]): row["rate"]
            for row in metrics.participation_rows(con, as_of)
        }
        result = rules.evaluate(con, profile, as_of)
    alerts = {
        a.id: {"alert_id": a.id, "rule_id": a.rule_id, "severity": a.severity,
               "policy_year": a.scope.policy_year, "county_code": a.scope.county_code,
               "message_zh": a.message_zh, "message_en": a.message_en}
        for a in result.alerts
    }
    return Figures(as_of, finance, participation, alerts)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def diff_exports(register: ExportRegister, before: int, after: int) -> dict[str, Any]:
    """``hmb exports diff A B``: the figures that moved from export A to export B."""
    entries = []
    for export_id in (before, after):
        entry = register.get(export_id)
        if entry is None:
            raise DiffError(
                f"没有第 {export_id} 号导出。 No export {export_id}: see `hmb exports`."
            )
        if entry.result != "accepted":
            raise DiffError(
                f"第 {export_id} 号导出已被拒收，没有可比较的数字。 Export {export_id} was"
                " refused: it has no figures to compare."
            )
        entries.append(entry)
    first, second = entries
    if first.profile != second.profile:
        raise DiffError(
            f"第 {before} 号（{first.profile}）与第 {after} 号（{second.profile}）不是同一地区的"
            f"导出。 Exports {before} ({first.profile}) and {after} ({second.profile}) are of"
            " different jurisdictions: compare two exports of one."
        )
    profile = profile_of(second)
    try:
        codes, elsewhere = profile.liability_codes, profile.insured_elsewhere
        old = figures(open_export(first, codes, elsewhere), profile)
        new = figures(open_export(second, codes, elsewhere), profile)
    except ExportGone as exc:
        raise DiffError(str(exc)) from exc
    return {
        "profile": second.profile,
        "before": _side(first, old),
        "after": _side(second, new),
        "changes": changes(old, new),
    }


def _side(entry: ExportEntry, found: Figures) -> dict[str, Any]:
    return {"id": entry.id, "fingerprint": entry.fingerprint, "as_of": found.as_of.isoformat(),
            "ingested_at": entry.as_json()["ingested_at"], "folder": entry.folder}


def changes(old: Figures, new: Figures) -> list[dict[str, Any]]:
    """The figures of ``new`` that differ from ``old``, in the order a reader goes through
    them: finance by year, participation by year and county, then alerts."""
    found: list[dict[str, Any]] = []
    for year in sorted(old.finance.keys() | new.finance.keys()):
        for metric in FINANCE:
            was = old.finance.get(year, {}).get(metric)
            now = new.finance.get(year, {}).get(metric)
            if _moved(metric, was, now):
                found.append(_figure("finance", metric, year, None, was=was, now=now))
    for year, county in sorted(old.participation.keys() | new.participation.keys(),
                               key=lambda k: (k[0], k[1] or "")):
        was, now = old.participation.get((year, county)), new.participation.get((year, county))
        if _moved("rate", was, now):
            found.append(_figure("participation", "rate", year, county, was=was,
                                 now=now))
    for alert_id in sorted(new.alerts.keys() - old.alerts.keys()):
        found.append(_alert("appeared", new.alerts[alert_id]))
    for alert_id in sorted(old.alerts.keys() - new.alerts.keys()):
        found.append(_alert("resolved", old.alerts[alert_id]))
    return found


def _moved(metric: str, was: float | None, now: float | None) -> bool:
    if was is None or now is None:
        return (was is None) != (now is None)
    return abs(now - was) >= (RATIO_STEP if metric in RATIOS else MONEY_STEP)


def _figure(kind: str, metric: str, year: int, county: str | None, *, was: float | None,
            now: float | None) -> dict[str, Any]:
    change = None if was is None or now is None else now - was
    name = "participation_rate" if metric == "rate" else metric
    place_zh = county_name(county) or county if county else "全域"
    place_en = county or "whole jurisdiction"
    if metric in RATIOS:
        shown = f"{percent(was)} → {percent(now)}（{points(change)}）"
        shown_en = f"{percent(was)} → {percent(now)} ({points(change).replace(' 个百分点', ' pt')})"
    else:
        delta = "—" if change is None else f"{'+' if change >= 0 else ''}{wan_yuan(change)}"
        shown = f"{wan_yuan(was)} → {wan_yuan(now)}（{delta}）"
        shown_en = f"{wan_yuan(was)} → {wan_yuan(now)} ({delta})"
    return {
        "kind": kind, "metric": metric, "policy_year": year, "county_code": county,
        "before": was, "after": now, "change": change,
        "message_zh": f"{year} 年度{place_zh if kind == 'participation' else ''}"
                      f"{label('metric', name, 'zh')}：{shown}",
        "message_en": f"{year} {label('metric', name, 'en')}"
                      f"{f' ({place_en})' if kind == 'participation' else ''}: {shown_en}",
    }


def _alert(change: str, alert: dict[str, Any]) -> dict[str, Any]:
    zh = "新出现" if change == "appeared" else "已解除"
    return {
        "kind": "alert", "change": change, **alert,
        "message_zh": f"预警{zh}（{label('severity', alert['severity'], 'zh')}）："
                      f"{alert['message_zh']}",
        "message_en": f"Alert {change} ({alert['severity']}): {alert['message_en']}",
    }
