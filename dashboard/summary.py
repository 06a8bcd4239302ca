"""The overview's figures and sentences: pure functions over the metric frames and alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from dashboard.i18n import Lang
from hmb.access.scoping import DataScope
from hmb.core.counties import county_name
from hmb.core.formatting import in_wan, percent, points, wan_yuan
from hmb.judge.alerts import Alert
from hmb.measure.development import Development, OriginRow
from hmb.rulebook.profiles import Profile

DeltaColor = Literal["normal", "inverse", "off"]
INSURER_FINANCE_CARDS = frozenset({"combined_ratio", "profit_rate"})


@dataclass(frozen=True)
class Card:
    metric: str  # its name is hmb.core.labels.METRICS[metric]
    value: float | None
    is_rate: bool
    delta: float | None  # change against last year (rate points as a fraction, or yuan)
    delta_color: DeltaColor
    threshold: str | None  # e.g. "≥ 20%" from the rulebook

    @property
    def value_text(self) -> str:
        return percent(self.value) if self.is_rate else wan_yuan(self.value)

    def threshold_text(self, lang: Lang) -> str | None:
        if self.threshold is None:
            return None
        return f"规则要求 {self.threshold}" if lang == "zh" else f"Rule: {self.threshold}"


def _rule_threshold(profile: Profile, metric: str, scope: str = "jurisdiction") -> str | None:
    rule = profile.rule_on(metric, scope)
    if rule is None:
        return None
    value = rule.critical if rule.critical is not None else rule.warning
    if value is None:
        return None
    sign = {"at_least": "≥", "at_most": "≤", "equal": "="}[rule.comparison]
    return f"{sign} {value * 100:g}%" if rule.unit == "rate" else f"{sign} {value:g}"


def _row(frame: pl.DataFrame, **match: object) -> dict[str, object] | None:
    for key, value in match.items():
        frame = frame.filter(pl.col(key).is_null() if value is None else pl.col(key) == value)
    return frame.row(0, named=True) if frame.height else None


def headline(
    part: pl.DataFrame, fin: pl.DataFrame, profile: Profile, year: int, county: str | None,
    *, insurer_finance: bool = True,
) -> list[Card]:
    """Participation, premiums, claims, ratios and surplus for the year, with last year's change.

    Without ``insurer_finance`` (a role that may not read insurers' expenses) the figures that
    need them (combined ratio, profit rate, surplus and pool) are left out."""
    this_part = _row(part, policy_year=year, county_code=county)
    last_part = _row(part, policy_year=year - 1, county_code=county)
    this = _row(fin, policy_year=year, insurer_id=None) or {}
    last = _row(fin, policy_year=year - 1, insurer_id=None) or {}

    def change(key: str, now: object, before: object) -> float | None:
        if isinstance(now, int | float) and isinstance(before, int | float):
            return float(now) - float(before)
        return None

    rate = this_part["rate"] if this_part else None
    last_rate = last_part["rate"] if last_part else None
    floor = _rule_threshold(profile, "participation_rate", "county") or _rule_threshold(
        profile, "participation_rate")
    cards = [
        Card("participation_rate", _num(rate), True, change("rate", rate, last_rate), "normal",
             floor),
    ]
    for key, is_rate, color, metric in (
        ("written_premium", False, "normal", None),
        ("earned_premium", False, "normal", None),
        ("claims_paid", False, "off", None),
        ("loss_ratio", True, "off", "loss_ratio"),
        ("combined_ratio", True, "inverse", "combined_ratio"),
        ("profit_rate", True, "inverse", "profit_rate"),
    ):
        if not insurer_finance and key in INSURER_FINANCE_CARDS:
            continue
        cards.append(Card(key, _num(this.get(key)), is_rate,
                          change(key, this.get(key), last.get(key)), color,  # type: ignore[arg-type]
                          _rule_threshold(profile, metric) if metric else None))
    pool = this.get("pool_close")
    if not insurer_finance:
        return cards
    if pool is not None:
        cards.append(Card("pool_close", _num(pool), False,
                          change("pool_close", pool, last.get("pool_close")), "normal", None))
    else:
        cards.append(Card("excess_surplus", _num(this.get("excess_surplus")), False,
                          change("excess_surplus", this.get("excess_surplus"),
                                 last.get("excess_surplus")), "inverse", None))
    return cards


def scope_place(scope: DataScope, lang: Lang) -> str | None:
    """The counties of a county-limited user, by name ("尤溪县"), else None (the jurisdiction)."""
    if scope.counties is None:
        return None
    names = [county_name(code) or code for code in sorted(scope.counties)]
    return ("、" if lang == "zh" else ", ").join(names)


def delta_text(card: Card, lang: Lang) -> str:
    """Change against last year: percentage points for rates, 万元 for money."""
    assert card.delta is not None
    if card.is_rate:
        return points(card.delta) if lang == "zh" else f"{card.delta * 100:+.2f} pts"
    return wan_yuan(card.delta) if lang == "zh" else f"{in_wan(card.delta):+,.2f} ×10k yuan"


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def attention(alerts: Sequence[Alert], profile: Profile, year: int, lang: Lang,
              place: str | None = None) -> str:
    """One paragraph in plain language: how many breaches, and the worst three. ``place``
    names the counties of a user limited to them (default: the jurisdiction)."""
    if place is None:
        place = profile.jurisdiction.name_zh if lang == "zh" else profile.jurisdiction.name_en
    if not alerts:
        return (f"{place}{year}年度未发现违反规则的情况。" if lang == "zh"
                else f"{place} {year}: no rule is breached.")
    critical = sum(1 for a in alerts if a.severity == "critical")
    warning = len(alerts) - critical
    worst = sorted(alerts, key=lambda a: (a.severity != "critical", a.gap or 0))[:3]
    if lang == "zh":
        head = f"{place}{year}年度共有严重预警 {critical} 条、一般预警 {warning} 条。最需关注："
        items = "".join(f"\n\n- {a.message_zh}（{a.citation.document} {a.citation.clause or ''}）"
                        + local_mark(a.citation.local_parameter, lang) for a in worst)
    else:
        head = (f"{place} {year}: {critical} critical and {warning} warning alerts. "
                "Most urgent:")
        items = "".join(f"\n\n- {a.message_en} ({a.citation.document} {a.citation.clause or ''})"
                        + local_mark(a.citation.local_parameter, lang) for a in worst)
    return head + items


def local_mark(note: str | None, lang: Lang) -> str:
    """What a verdict or notice says when a number in it is a local parameter, not the
    document's: the flag and the note that says whose it is."""
    if not note:
        return ""
    return f"（本地参数：{note}）" if lang == "zh" else f" (local parameter: {note})"


# -- claims development (精算回溯) --------------------------------------------------------------


def _plus_minus(rate: float | None, lang: Lang) -> str:
    if rate is None:
        return "误差无法估计" if lang == "zh" else "error unknown"
    return f"±{rate * 100:.1f} 个百分点" if lang == "zh" else f"±{rate * 100:.1f} points"


def development_sentence(origin: OriginRow, developing: bool, lang: Lang) -> str:
    """One policy year's projection in plain language, e.g. "2025 年度预计最终赔付率 91.0%
    （±3.0 个百分点，仍在进展，为暂定预测），高于要求赔付率 85%"; a year
    as final once settled (development.is_developing), a developing year for which the chain
    ladder projects nothing more (no older year to develop from) as provisional on what is paid,
    a year that has paid nothing as not yet projectable (the chain ladder projects nothing from
    nothing), and a rulebook without an expected ratio says the local parameter is not set."""
    year, projected = origin.policy_year, origin.full_year_loss_ratio
    if developing and origin.latest == 0:
        return (f"{year} 年度尚无已付赔款，暂不能预计最终赔付率。" if lang == "zh"
                else f"{year}: nothing paid yet, so no ultimate can be projected.")
    if projected is None:
        return (f"{year} 年度尚无已赚保费或无法预计最终赔款，不计算预计赔付率。" if lang == "zh"
                else f"{year}: no earned premium or no projection, so no projected loss ratio.")
    if developing and not origin.ibnr:
        paid = origin.paid_loss_ratio
        head = (f"{year} 年度按已付赔款计赔付率 {percent(paid, 1)}"
                f"（仍在进展，尚无更早年度的进展可供推算，为暂定数）"
                if lang == "zh" else
                f"{year}: loss ratio {percent(paid, 1)} on claims paid so far (still"
                f" developing, no earlier year's development to project from: provisional)")
    elif developing:
        head = (f"{year} 年度预计最终赔付率 {percent(projected, 1)}"
                f"（{_plus_minus(origin.full_year_loss_ratio_se, lang)}，仍在进展，为暂定预测）"
                if lang == "zh" else
                f"{year}: projected ultimate loss ratio {percent(projected, 1)}"
                f" ({_plus_minus(origin.full_year_loss_ratio_se, lang)}; still developing,"
                f" provisional)")
    else:
        head = (f"{year} 年度最终赔付率 {percent(projected, 1)}（赔款已基本结清）" if lang == "zh"
                else f"{year}: ultimate loss ratio {percent(projected, 1)} (claims settled)")
    expected, deviation = origin.expected_loss_ratio, origin.full_year_deviation
    if expected is None or deviation is None:
        return head + ("；要求赔付率为地方参数，未设定，不作比较。" if lang == "zh"
                       else "; the expected ratio is a local parameter, not set, so no"
                            " comparison.")
    if deviation > 0:
        word = ("高于", "above")
    elif deviation < 0:
        word = ("低于", "below")
    else:
        word = ("等于", "equal to")
    return (f"{head}，{word[0]}要求赔付率 {percent(expected, 0)}。" if lang == "zh"
            else f"{head}, {word[1]} the expected {percent(expected, 0)}.")


def projection_note(result: Development, year: int, lang: Lang) -> str | None:
    """The loss-ratio tile's note for a year still developing: "预计最终 91.0%（±3.0 个百分点）"
    when ``year`` is the latest policy year and has claims yet to pay (IBNR > 0), else None."""
    origin = result.origin(year)
    if (origin is None or origin is not result.origins[-1] or not origin.ibnr
            or origin.full_year_loss_ratio is None):
        return None
    projected = percent(origin.full_year_loss_ratio, 1)
    plus_minus = _plus_minus(origin.full_year_loss_ratio_se, lang)
    return (f"预计最终 {projected}（{plus_minus}）" if lang == "zh"
            else f"Projected ultimate {projected} ({plus_minus})")
