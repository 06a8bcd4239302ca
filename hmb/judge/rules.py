"""The rule engine: every rule of a rulebook, over every scope, in one pass.

A rule (data/rulebooks/*.toml) names a metric from :data:`OBSERVERS`, a scope, a comparison and its
thresholds. Each metric function turns the validated store into observations (a scope and a
value, plus the figures a message needs); :func:`evaluate` compares each observation with the
rule's thresholds and returns the alerts, sorted by severity. Everything here is pure over the
store: no Streamlit, no alert store, no clock (the as-of date is an argument).

Claims are paid with a lag, so a loss ratio in May says little about December: finance rules
judge a year in progress only where the lag cannot create the breach (see
:func:`_finance_observations`); in-year early warning is the job of the projection metrics, which
say how they project.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

import duckdb
import polars as pl

import queries
from hmb.core.counties import county_name
from hmb.core.formatting import people, percent, points, wan_yuan, yuan
from hmb.core.labels import ENUMS, label
from hmb.judge.alerts import SEVERITY_ORDER, Alert, Citation, GapUnit, Scope, Severity, alert_id
from hmb.measure import claims_audit, development, metrics
from hmb.measure.campaign import (
    RUN_RATE_DAYS,
    projected_participation_rate,
    run_rate_projection,
)
from hmb.rulebook.profiles import Profile, Rule

MIN_DAYS_FOR_PROJECTION = 60
# A policy year is judged on what is paid once its claims have had a year to settle after it
# ended (development.MATURE_AGE_MONTHS, a local parameter); before then its verdicts are
# provisional, on the projected ultimate.
# A waiting period (等待期) denies care in the first weeks of cover. The documents forbid one but
# set no window to look at: 90 days (the common length of a waiting period in health insurance)
# and the least number of decided early claims that makes a denial rate worth comparing are local
# parameters of the product.
EARLY_DAYS = 90
MIN_EARLY_CLAIMS = 20


@dataclass(frozen=True)
class Observation:
    """One measured value in one scope, with the figures its message needs."""

    scope: Scope
    value: float | None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """A fact the rulebook asks to report that is not a breach (a tier in force, a pool)."""

    profile: str
    topic: str
    policy_year: int
    message_zh: str
    message_en: str
    citation: Citation
    figures: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "topic": self.topic,
            "policy_year": self.policy_year,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "citation": self.citation.as_dict(),
            "figures": self.figures,
        }


@dataclass(frozen=True)
class CheckResult:
    profile: str
    as_of: date
    alerts: tuple[Alert, ...]
    notices: tuple[Notice, ...]


class Evaluation:
    """The figures of one store at one as-of date, each computed once and only if needed."""

    def __init__(self, con: duckdb.DuckDBPyConnection, profile: Profile, as_of: date) -> None:
        self.con = con
        self.profile = profile
        self.as_of = as_of

    @cached_property
    def participation(self) -> pl.DataFrame:
        return metrics.participation(self.con, self.as_of)

    @cached_property
    def finance(self) -> list[metrics.FinanceRow]:
        return metrics.finance_rows(self.con, self.profile, self.as_of)

    @cached_property
    def enrolment_by_day(self) -> pl.DataFrame:
        return queries.run(self.con, "enrolment_by_day", as_of=self.as_of)

    @cached_property
    def premium_charged(self) -> pl.DataFrame:
        return queries.run(self.con, "premium_charged", as_of=self.as_of)

    @cached_property
    def subsidy_coverage(self) -> pl.DataFrame:
        return queries.run(self.con, "subsidy_coverage", as_of=self.as_of)

    @cached_property
    def insurers(self) -> pl.DataFrame:
        return queries.run(self.con, "coinsurance_shares")

    @cached_property
    def subsidised_funding(self) -> pl.DataFrame:
        return queries.run(self.con, "subsidised_funding", as_of=self.as_of)

    @cached_property
    def one_stop(self) -> pl.DataFrame:
        return queries.run(self.con, "one_stop_settlement", as_of=self.as_of)

    @cached_property
    def early_denials(self) -> pl.DataFrame:
        return queries.run(
            self.con, "early_claim_denials", as_of=self.as_of, early_days=EARLY_DAYS
        )

    @cached_property
    def development(self) -> dict[int, development.OriginRow]:
        """Contract §5's paid development by policy year (month grain: the current, partial
        period weighs least), for judging a year whose claims are still being settled on its
        projection rather than on what is paid so far."""
        result = development.development(
            self.con, self.profile, self.as_of, development.DEFAULT_GRAIN
        )
        return {origin.policy_year: origin for origin in result.origins}

    def year_totals(self) -> list[metrics.FinanceRow]:
        return [row for row in self.finance if row.insurer_id is None]

    def completed_years(self) -> list[metrics.FinanceRow]:
        """Policy years that ended on or before the as-of date."""
        return [r for r in self.year_totals() if self.as_of >= date(r.policy_year, 12, 31)]

    def campaign_deadline(self, policy_year: int) -> date:
        return campaign_deadline(self.profile, policy_year)


def campaign_deadline(profile: Profile, policy_year: int) -> date:
    """Last day of the enrolment campaign for cover starting 1 January ``policy_year``."""
    raw = profile.parameters.campaign_deadline
    text = str(raw.for_year(policy_year)) if raw is not None else "12-31"
    month, day = (int(part) for part in text.split("-"))
    return date(policy_year - 1, month, day)


# -- metrics the rules can name ---------------------------------------------------------------


def _participation_rate(ev: Evaluation, rule: Rule) -> list[Observation]:
    frame = ev.participation
    if rule.scope == "county":
        frame = frame.filter(pl.col("county_code").is_not_null())
    else:
        frame = frame.filter(pl.col("county_code").is_null())
    # Participation is judged once the campaign is over, i.e. for years that have started.
    frame = frame.filter(pl.col("policy_year") <= ev.as_of.year)
    return [
        Observation(
            Scope(policy_year=r["policy_year"], county_code=r["county_code"]),
            r["rate"],
            {"enrolled": r["enrolled"], "insured_base": r["insured_base"]},
        )
        for r in frame.iter_rows(named=True)
        if rule.applies_to(r["policy_year"])
    ]


def _projected_participation_rate(ev: Evaluation, rule: Rule) -> list[Observation]:
    """Final participation projected from each county's enrolments over the last 14 days."""
    year = ev.as_of.year + 1
    deadline = ev.campaign_deadline(year)
    days = ev.enrolment_by_day.filter(pl.col("policy_year") == year)
    if not rule.applies_to(year) or days.is_empty() or ev.as_of >= deadline:
        return []
    base = ev.participation.filter(
        (pl.col("policy_year") == year) & pl.col("county_code").is_not_null()
    )
    observations = []
    for r in base.sort("county_code").iter_rows(named=True):
        county_days = days.filter(pl.col("county_code") == r["county_code"])
        projected, daily = run_rate_projection(county_days, ev.as_of, deadline)
        rate = projected_participation_rate(projected, r["insured_base"])
        observations.append(
            Observation(
                Scope(policy_year=year, county_code=r["county_code"]),
                rate,
                {
                    "enrolled": int(county_days["enrolled"].sum()),
                    "insured_base": r["insured_base"],
                    "projected_enrolled": projected,
                    "daily_rate": round(daily, 1),
                    "days_remaining": (deadline - ev.as_of).days,
                    "deadline": deadline.isoformat(),
                },
            )
        )
    return observations


def _finance_observations(
    ev: Evaluation,
    rule: Rule,
    value: Callable[[metrics.FinanceRow], float | None],
    rises_with_claims: bool,
) -> list[Observation]:
    """One observation per policy year that can be judged at the as-of date.

    A finished year is always judged. A year in progress is judged only when late claims can
    only make the breach worse, never create it: a ratio that rises with claims against a
    ceiling (a combined ratio already above 95 %), or one that falls with claims against a
    floor. A loss ratio in May below its 85 % floor, by contrast, is mostly lag. Expenses are
    year-to-date as reported (contract §3), so heavy early spending can also lift an in-year
    combined ratio; such alerts say the year is in progress.
    """
    in_progress_ok = (rule.comparison == "at_most") == rises_with_claims
    rows = ev.year_totals() if in_progress_ok else ev.completed_years()
    observations = []
    for row in rows:
        if not rule.applies_to(row.policy_year) or ev.as_of < date(row.policy_year, 1, 1):
            continue
        in_progress = ev.as_of < date(row.policy_year, 12, 31)
        if in_progress and (ev.as_of - date(row.policy_year, 1, 1)).days < MIN_DAYS_FOR_PROJECTION:
            continue  # a few days' premium against year-to-date expenses says nothing yet
        paid = Observation(
            Scope(policy_year=row.policy_year),
            value(row),
            {**_finance_facts(row), "year_in_progress": in_progress},
        )
        # An ended year whose claims are still being settled (development.is_developing)
        # is judged provisionally, on its projected ultimate (contract §5) where the claims of
        # older years give one, unless what is paid already breaches in the direction late
        # claims can only deepen.
        origin = None if in_progress else ev.development.get(row.policy_year)
        conclusive = in_progress_ok and classify(rule, paid.value, False) is not None
        if (origin is None or conclusive
                or not development.is_developing(row.policy_year, ev.as_of)):
            observations.append(paid)
            continue
        facts = {**paid.facts, "provisional": True, "paid_value": paid.value,
                 "development_age": origin.age}
        if origin.ultimate is None or origin.ibnr is None or origin.ibnr < 0.005:
            # No older year to develop from: what is paid, said to be provisional.
            observations.append(Observation(paid.scope, paid.value, facts))
            continue
        projected_row = replace(row, claims_paid=Decimal(repr(origin.ultimate)))
        spread = (
            None if origin.mack_se is None
            else metrics.ratio(Decimal(repr(origin.mack_se)), row.earned_premium)
        )
        observations.append(Observation(
            paid.scope,
            value(projected_row),
            {
                **facts,
                "method": "chain_ladder",
                "projected_claims": origin.ultimate,
                "ibnr": origin.ibnr,
                "mack_se": origin.mack_se,
                "standard_error": spread,
            },
        ))
    return observations


def _finance_facts(row: metrics.FinanceRow) -> dict[str, Any]:
    return {
        "earned_premium": float(row.earned_premium),
        "claims_paid": float(row.claims_paid),
        "expenses": float(row.expenses),
        "profit": float(row.profit),
        "excess_surplus": None if row.excess_surplus is None else float(row.excess_surplus),
    }


def _loss_ratio(ev: Evaluation, rule: Rule) -> list[Observation]:
    return _finance_observations(ev, rule, lambda r: r.loss_ratio, rises_with_claims=True)


def _combined_ratio(ev: Evaluation, rule: Rule) -> list[Observation]:
    """The combined ratio; where the rulebook keeps a pool (湖南 三: 结余部分结转资金池，用于
    下一年度给付) and the year drew on it, also the ratio net of the draw, which the verdict
    weighs."""
    observations = _finance_observations(
        ev, rule, lambda r: r.combined_ratio, rises_with_claims=True
    )
    totals = {r.policy_year: r for r in ev.year_totals()}
    result = []
    for obs in observations:
        row = totals.get(obs.scope.policy_year or 0)
        if (
            row is None or obs.value is None or not row.pool_draw
            or not ev.profile.keeps_pool(row.policy_year)
        ):
            result.append(obs)
            continue
        draw_share = metrics.ratio(row.pool_draw, row.earned_premium) or 0.0
        result.append(replace(obs, facts={
            **obs.facts,
            "pool_draw": float(row.pool_draw),
            "net_of_pool_draw": obs.value - draw_share,
        }))
    return result


def _profit_rate(ev: Evaluation, rule: Rule) -> list[Observation]:
    return _finance_observations(ev, rule, lambda r: r.profit_rate, rises_with_claims=False)


def _cost_and_profit_rate(ev: Evaluation, rule: Rule) -> list[Observation]:
    """(expenses + profit) / earned premium, which is 1 − loss ratio."""
    return _finance_observations(
        ev,
        rule,
        lambda r: metrics.ratio(r.expenses + r.profit, r.earned_premium),
        rises_with_claims=False,
    )


def _projected_loss_ratio(ev: Evaluation, rule: Rule) -> list[Observation]:
    """Full-year loss ratio of the year in progress.

    Claims paid to date are grossed up by how much the previous year's paid claims grew from the
    same point of its year to today (its development since then); with no usable previous year,
    by the share of the year elapsed (run rate).
    """
    year = ev.as_of.year
    elapsed = ev.as_of - date(year, 1, 1)
    totals = {r.policy_year: r for r in ev.year_totals()}
    if year not in totals or not rule.applies_to(year) or ev.as_of >= date(year, 12, 31):
        return []
    if elapsed.days < MIN_DAYS_FOR_PROJECTION:
        return []
    current = totals[year]
    full_year_earned = current.written_premium
    method = "run_rate"
    factor: Decimal | None = None
    if year - 1 in totals:
        same_point = (
            ev.as_of.replace(year=year - 1)
            if not (ev.as_of.month == 2 and ev.as_of.day == 29)
            else date(year - 1, 2, 28)
        )
        before = _claims_paid(ev, year - 1, same_point)
        after = _claims_paid(ev, year - 1, ev.as_of)
        if before > 0:
            factor = after / before
            method = "development_from_previous_year"
    if factor is None:
        fraction = metrics.earned_fraction(year, ev.as_of)
        factor = Decimal(fraction.denominator) / Decimal(fraction.numerator)
    projected_claims = current.claims_paid * factor
    return [
        Observation(
            Scope(policy_year=year),
            metrics.ratio(projected_claims, full_year_earned),
            {
                "claims_paid": float(current.claims_paid),
                "factor": round(float(factor), 4),
                "projected_claims": float(projected_claims),
                "written_premium": float(full_year_earned),
                "method": method,
            },
        )
    ]


def _claims_paid(ev: Evaluation, policy_year: int, as_of: date) -> Decimal:
    frame = queries.run(ev.con, "claims_paid", as_of=as_of)
    rows = frame.filter(pl.col("policy_year") == policy_year)
    return Decimal(rows["claims_paid"][0]) if rows.height else Decimal(0)


def _years_started(ev: Evaluation, rule: Rule, frame: pl.DataFrame) -> list[int]:
    years = sorted(frame["policy_year"].unique().to_list()) if frame.height else []
    return [y for y in years if y <= ev.as_of.year and rule.applies_to(y)]


def _premium_mismatch_count(ev: Evaluation, rule: Rule) -> list[Observation]:
    frame = ev.premium_charged
    observations = []
    for year in _years_started(ev, rule, frame):
        expected = ev.profile.premium(year)
        rows = frame.filter(pl.col("policy_year") == year)
        wrong = rows.filter(pl.col("premium").cast(pl.Float64) != expected)
        observations.append(
            Observation(
                Scope(policy_year=year),
                float(wrong["enrolments"].sum()),
                {
                    "expected_premium": expected,
                    "premiums_found": sorted({float(p) for p in wrong["premium"].to_list()}),
                },
            )
        )
    return observations


def _modal_premium(rows: pl.DataFrame) -> float | None:
    if rows.is_empty():
        return None
    top = (
        rows.group_by("premium")
        .agg(pl.col("enrolments").sum())
        .sort(["enrolments", "premium"], descending=[True, False])
    )
    return float(top["premium"][0])


def _premium_to_contribution(ev: Evaluation, rule: Rule) -> list[Observation]:
    frame = ev.premium_charged
    parameter = ev.profile.parameters.resident_contribution
    observations = []
    for year in _years_started(ev, rule, frame):
        premium = _modal_premium(frame.filter(pl.col("policy_year") == year))
        contribution = parameter.for_year(year) if parameter is not None else None
        if premium is None or contribution is None:
            continue
        observations.append(
            Observation(
                Scope(policy_year=year),
                premium / float(contribution),
                {"premium": premium, "resident_contribution": float(contribution)},
            )
        )
    return observations


def _preexisting_premium_gap(ev: Evaluation, rule: Rule) -> list[Observation]:
    frame = ev.premium_charged
    observations = []
    for year in _years_started(ev, rule, frame):
        rows = frame.filter(pl.col("policy_year") == year)
        healthy = _modal_premium(rows.filter(pl.col("health_status") == "healthy"))
        preexisting = _modal_premium(rows.filter(pl.col("health_status") == "preexisting"))
        if healthy is None or preexisting is None:
            continue
        observations.append(
            Observation(
                Scope(policy_year=year),
                preexisting - healthy,
                {"healthy_premium": healthy, "preexisting_premium": preexisting},
            )
        )
    return observations


def _late_enrolment_count(ev: Evaluation, rule: Rule) -> list[Observation]:
    frame = ev.enrolment_by_day
    observations = []
    for year in _years_started(ev, rule, frame):
        deadline = ev.campaign_deadline(year)
        late = frame.filter((pl.col("policy_year") == year) & (pl.col("enroll_date") > deadline))
        last = late["enroll_date"].max()
        observations.append(
            Observation(
                Scope(policy_year=year),
                float(late["enrolled"].sum()),
                {
                    "deadline": deadline.isoformat(),
                    "last_enrolment": last.isoformat() if isinstance(last, date) else None,
                },
            )
        )
    return observations


def _enrolment_window_days(ev: Evaluation, rule: Rule) -> list[Observation]:
    frame = ev.enrolment_by_day
    observations = []
    for year in _years_started(ev, rule, frame):
        days = frame.filter(pl.col("policy_year") == year)["enroll_date"]
        first, last = days.min(), days.max()
        assert isinstance(first, date) and isinstance(last, date)
        observations.append(
            Observation(
                Scope(policy_year=year),
                float((last - first).days + 1),
                {"first_enrolment": first.isoformat(), "last_enrolment": last.isoformat()},
            )
        )
    return observations


def _subsidy_coverage(ev: Evaluation, rule: Rule) -> list[Observation]:
    frame = ev.subsidy_coverage.filter(pl.col("policy_year") <= ev.as_of.year)
    if rule.groups:
        frame = frame.filter(pl.col("subsidy_group").is_in(list(rule.groups)))
    return [
        Observation(
            Scope(
                policy_year=r["policy_year"],
                county_code=r["county_code"],
                subsidy_group=r["subsidy_group"],
            ),
            r["coverage"],
            {"eligible": r["eligible"], "enrolled": r["enrolled"]},
        )
        for r in frame.iter_rows(named=True)
        if rule.applies_to(r["policy_year"])
    ]


def _insurer_count(ev: Evaluation, rule: Rule) -> list[Observation]:
    frame = ev.insurers
    return [
        Observation(
            Scope(policy_year=year),
            float(frame.filter(pl.col("policy_year") == year).height),
            {"insurers": frame.filter(pl.col("policy_year") == year)["insurer_name"].to_list()},
        )
        for year in _years_started(ev, rule, frame)
    ]


def _premium_variation_count(ev: Evaluation, rule: Rule) -> list[Observation]:
    """Active enrolments of a year charged another premium than the year's most common one: one
    price for everyone (温医保联发〔2021〕1号 二（二） "保费与个人疾病风险脱钩"; 湘政办发〔2024〕5号
    三 "统一保费价格"). The store keeps premiums by health status, so a price by health status is
    named; a price by age or sex shows as a second premium without its cause."""
    frame = ev.premium_charged
    observations = []
    for year in _years_started(ev, rule, frame):
        rows = frame.filter(pl.col("policy_year") == year)
        usual = _modal_premium(rows)
        if usual is None:
            continue
        other = rows.filter(pl.col("premium").cast(pl.Float64) != usual)
        by_status = {
            status: sorted({float(p) for p in group["premium"].to_list()})
            for (status,), group in other.group_by("health_status", maintain_order=True)
        }
        observations.append(
            Observation(
                Scope(policy_year=year),
                float(other["enrolments"].sum()),
                {
                    "usual_premium": usual,
                    "other_premiums": by_status,
                    "enrolments": int(rows["enrolments"].sum()),
                },
            )
        )
    return observations


def _unfunded_subsidised_count(ev: Evaluation, rule: Rule) -> list[Observation]:
    """Active enrolments of the rule's subsidised groups whose premium the government did not
    pay in full (queries/subsidised_funding.sql), per policy year started, county and group."""
    frame = ev.subsidised_funding.filter(pl.col("policy_year") <= ev.as_of.year)
    if rule.groups:
        frame = frame.filter(pl.col("subsidy_group").is_in(list(rule.groups)))
    return [
        Observation(
            Scope(
                policy_year=r["policy_year"],
                county_code=r["county_code"],
                subsidy_group=r["subsidy_group"],
            ),
            float(r["not_funded"]),
            {
                "enrolled": r["enrolled"],
                "self_paid": float(r["self_paid"]),
                "channels": list(r["channels"] or []),
            },
        )
        for r in frame.iter_rows(named=True)
        if rule.applies_to(r["policy_year"])
    ]


def _not_one_stop_share(ev: Evaluation, rule: Rule) -> list[Observation]:
    """Paid claims on the liabilities the clause covers (all, when the rule lists none) that were
    not settled one-stop, as a share of those paid claims, per policy year started."""
    frame = ev.one_stop
    if rule.liabilities:
        frame = frame.filter(pl.col("liability").is_in(list(rule.liabilities)))
    observations = []
    for year in _years_started(ev, rule, frame):
        rows = frame.filter(pl.col("policy_year") == year)
        paid, missed = int(rows["paid_claims"].sum()), int(rows["not_one_stop"].sum())
        examples = rows["example_claim"].drop_nulls().sort()
        observations.append(
            Observation(
                Scope(policy_year=year),
                missed / paid if paid else None,
                {
                    "paid_claims": paid,
                    "not_one_stop": missed,
                    "not_one_stop_out_of_area": int(rows["not_one_stop_out_of_area"].sum()),
                    "liabilities": sorted(rows["liability"].to_list()),
                    "example_claim": examples[0] if examples.len() else None,
                },
            )
        )
    return observations


def _early_denial_gap(ev: Evaluation, rule: Rule) -> list[Observation]:
    """The denial rate of claims for care in the first :data:`EARLY_DAYS` days of the policy year
    less that of claims for later care: a proxy of a waiting period, which the claims table
    cannot show directly (it has no reason of denial). Judged once a year has
    :data:`MIN_EARLY_CLAIMS` decided early claims and some later ones."""
    frame = ev.early_denials
    observations = []
    for r in frame.iter_rows(named=True):
        year = r["policy_year"]
        if not rule.applies_to(year) or year > ev.as_of.year:
            continue
        if r["early_decided"] < MIN_EARLY_CLAIMS or not r["later_decided"]:
            continue
        early = r["early_denied"] / r["early_decided"]
        later = r["later_denied"] / r["later_decided"]
        observations.append(
            Observation(
                Scope(policy_year=year),
                early - later,
                {**r, "early_rate": early, "later_rate": later, "early_days": EARLY_DAYS},
            )
        )
    return observations


def _mispaid_share(ev: Evaluation, rule: Rule) -> list[Observation]:
    """Per policy year (and county): the amount mispaid against the benefit table, over- and
    under-payments added, over the amount paid on the audited claims (contract §6)."""
    audit = claims_audit.claims_audit(ev.con, ev.profile, ev.as_of)
    observations = []
    for row in audit.summary:
        if (row.county_code is None) != (rule.scope == "jurisdiction"):
            continue
        if not rule.applies_to(row.policy_year):
            continue
        observations.append(Observation(
            Scope(policy_year=row.policy_year, county_code=row.county_code),
            row.mispaid_share,
            {
                "claims_audited": row.claims_audited,
                "paid_amount": float(row.paid_amount),
                "overpaid_count": row.overpaid_count,
                "overpaid_amount": float(row.overpaid_amount),
                "underpaid_count": row.underpaid_count,
                "underpaid_amount": float(row.underpaid_amount),
            },
        ))
    return observations


# Each metric a rule can name, and the function that observes it per scope (from the figures of
# hmb.measure, or computed here for judging only); its name is in hmb.core.labels.METRICS.
OBSERVERS: dict[str, Callable[[Evaluation, Rule], list[Observation]]] = {
    "participation_rate": _participation_rate,
    "projected_participation_rate": _projected_participation_rate,
    "loss_ratio": _loss_ratio,
    "projected_loss_ratio": _projected_loss_ratio,
    "combined_ratio": _combined_ratio,
    "profit_rate": _profit_rate,
    "cost_and_profit_rate": _cost_and_profit_rate,
    "premium_mismatch_count": _premium_mismatch_count,
    "premium_to_contribution": _premium_to_contribution,
    "preexisting_premium_gap": _preexisting_premium_gap,
    "late_enrolment_count": _late_enrolment_count,
    "enrolment_window_days": _enrolment_window_days,
    "subsidy_coverage": _subsidy_coverage,
    "insurer_count": _insurer_count,
    "premium_variation_count": _premium_variation_count,
    "not_one_stop_share": _not_one_stop_share,
    "early_denial_gap": _early_denial_gap,
    "unfunded_subsidised_count": _unfunded_subsidised_count,
    "mispaid_share": _mispaid_share,
}


# -- comparing with thresholds ---------------------------------------------------------------


def _breaches(value: float, comparison: str, threshold: float) -> bool:
    if comparison == "at_least":
        return value < threshold - 1e-12
    if comparison == "at_most":
        return value > threshold + 1e-12
    return abs(value - threshold) > 1e-9


def classify(
    rule: Rule, value: float | None, previously_firing: bool = False
) -> tuple[Severity, float] | None:
    """The severity and the threshold crossed, or None when the value is within the rule.

    A rule with a recovery threshold keeps an alert that was already firing *critical*
    (``previously_firing``) until the value passes the recovery threshold, so a county hovering
    at 19.9 %/20.1 % does not flap; it never promotes a warning.
    """
    if value is None:
        return None
    critical = rule.critical
    if critical is not None and _breaches(value, rule.comparison, critical):
        return "critical", float(critical)
    recovery = rule.recovery
    # Still on the wrong side of the recovery threshold: the alert stays critical, and reads
    # against the threshold the value has not yet passed.
    if (
        previously_firing
        and critical is not None
        and recovery is not None
        and _breaches(value, rule.comparison, recovery)
    ):
        return "critical", float(recovery)
    if rule.warning is not None and _breaches(value, rule.comparison, rule.warning):
        return "warning", float(rule.warning)
    return None


def evaluate(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    as_of: date,
    previously_firing: frozenset[str] = frozenset(),
) -> CheckResult:
    """Every rule of the profile over every scope; the alerts sorted by severity and scope.

    ``previously_firing``: the ids of the alerts open at critical severity (what the recovery
    thresholds hold; hmb.state.alert_store.AlertStore.open_critical)."""
    ev = Evaluation(con, profile, as_of)
    alerts: list[Alert] = []
    for rule in profile.rules:
        if rule.kind == "condition":
            continue  # a benefit tier's condition is reported as the tier in force, not judged
        for observation in OBSERVERS[rule.metric](ev, rule):
            year = observation.scope.policy_year
            if year is None or not profile.governs(year):
                continue  # figures only: no verdict outside the document's period of force
            firing = alert_id(profile.name, rule.id, observation.scope) in previously_firing
            verdict = classify(rule, observation.value, firing)
            if verdict is None:
                continue
            severity, threshold = verdict
            if observation.facts.get("provisional") and severity == "critical":
                severity = "warning"  # a projection warns; only a settled figure is critical
            net = observation.facts.get("net_of_pool_draw")
            if severity == "critical" and net is not None and not _breaches(
                net, rule.comparison, threshold
            ):
                # The rulebook's own pool, which the document sets up for exactly this, covers
                # the year: a warning that the premium alone did not, not a breach.
                severity = "warning"
            alerts.append(_alert(ev, rule, observation, severity, threshold))
    alerts.sort(key=lambda a: (SEVERITY_ORDER[a.severity], a.rule_id, a.scope.key()))
    return CheckResult(profile.name, as_of, tuple(alerts), tuple(_notices(ev)))


def _citation(profile: Profile, rule: Rule) -> Citation:
    return Citation(
        document=profile.document.number,
        clause=rule.citation.clause,
        quote=rule.citation.quote,
        local_parameter=rule.citation.note if rule.citation.local else None,
    )


# -- messages ---------------------------------------------------------------------------------


def _where(ev: Evaluation, scope: Scope) -> tuple[str, str]:
    zh = f"{ev.profile.jurisdiction.name_zh}{scope.policy_year}年度"
    en = f"{ev.profile.jurisdiction.name_en} {scope.policy_year}"
    if scope.county_code:
        name = county_name(scope.county_code) or scope.county_code
        zh += f" {name}（{scope.county_code}）"
        en += f", {name} ({scope.county_code})"
    if scope.subsidy_group:
        zh += f" {label('subsidy_group', scope.subsidy_group, 'zh')}"
        en += f", group {scope.subsidy_group}"
    if scope.insurer_id:
        zh += f" {scope.insurer_id}"
        en += f", insurer {scope.insurer_id}"
    return zh, en


def _format_value(rule: Rule, value: float | None, english: bool = False) -> str:
    if value is None:
        return "—"
    if rule.unit == "rate":
        return percent(value)
    if rule.unit == "yuan":
        return f"{value:,.2f} {label('unit', 'yuan', 'en')}" if english else yuan(value)
    if rule.unit == "days":
        return f"{value:,.0f} {label('unit', 'days', 'en' if english else 'zh')}"
    return f"{value:,.0f}"


def _gap(rule: Rule, value: float, threshold: float) -> tuple[float, GapUnit, str]:
    if rule.unit == "rate":
        return (value - threshold) * 100, "pp", points(value - threshold)
    unit: GapUnit = {"yuan": "yuan", "count": "count", "days": "days", "insurers": "insurers"}[
        rule.unit
    ]  # type: ignore[assignment]
    return value - threshold, unit, f"{value - threshold:+,.2f}".rstrip("0").rstrip(".")


def _in_sentence(name: str) -> str:
    """A name written as a heading, inside a sentence: 'Loss ratio' → 'loss ratio'."""
    return name[:1].lower() + name[1:]


RELATION_ZH = {"at_least": "低于", "at_most": "高于", "equal": "不等于"}
# The Chinese sentence says which way the gap goes in words, so its number carries no sign.
GAP_ZH = {"at_least": "差", "at_most": "超出", "equal": "相差"}
RELATION_EN = {"at_least": "below", "at_most": "above", "equal": "different from"}


def _alert(
    ev: Evaluation, rule: Rule, obs: Observation, severity: Severity, threshold: float
) -> Alert:
    assert obs.value is not None
    where_zh, where_en = _where(ev, obs.scope)
    gap, gap_unit, gap_text = _gap(rule, obs.value, threshold)
    extra_zh, extra_en, details = _consequence(ev, rule, obs, threshold)
    metric_en = _in_sentence(label("metric", rule.metric, "en"))
    shown_zh, shown_en = _format_value(rule, obs.value), _format_value(rule, obs.value, True)
    name_zh, name_en = label("metric", rule.metric, "zh"), metric_en
    projected = obs.facts.get("method") == "chain_ladder"
    if projected:
        spread = obs.facts.get("standard_error")
        if spread is not None:
            shown_zh += f"（±{points(spread).lstrip('+')}）"
            shown_en += f" (± {points(spread).lstrip('+').replace(' 个百分点', ' points')})"
        name_zh, name_en = f"预计最终{name_zh}", f"projected ultimate {name_en}"
    if rule.is_aim(severity):
        # 力争: an aim the document sets, not a requirement; missing it is not a breach.
        zh = (
            f"{where_zh}{name_zh}为 {shown_zh}，未达到力争目标 {_format_value(rule, threshold)}"
            f"（{GAP_ZH[rule.comparison]} {gap_text.lstrip('+-')}；"
            f"这是力争目标，不是必须达到的下限）。{extra_zh}"
        )
        en = (
            f"{where_en}: {name_en} {shown_en}, short of the"
            f" {_format_value(rule, threshold, True)} the document aims for"
            f" ({gap_text.replace(' 个百分点', ' points')}; an aim, not a requirement)."
        )
    else:
        local = rule.is_local(threshold)
        zh = (
            f"{where_zh}{name_zh}为 {shown_zh}，"
            f"{RELATION_ZH[rule.comparison]}{'本地参数' if local else '规定的'}"
            f" {_format_value(rule, threshold)}"
            f"（{GAP_ZH[rule.comparison]} {gap_text.lstrip('+-')}）。{extra_zh}"
        )
        source_en = "of a local parameter, not the document's" if local else "set by the rule"
        en = (
            f"{where_en}: {name_en} {shown_en},"
            f" {RELATION_EN[rule.comparison]} the {_format_value(rule, threshold, True)}"
            f" {source_en} ({gap_text.replace(' 个百分点', ' points')})."
        )
    if extra_en:
        en += f" {extra_en}"
    net = obs.facts.get("net_of_pool_draw")
    if net is not None:
        draw = obs.facts["pool_draw"]
        covered = not _breaches(net, rule.comparison, threshold)
        basis_zh, basis_en = _margin_basis(ev.profile, obs.scope.policy_year)
        zh += (
            f"当年动用结余资金池 {wan_yuan(draw)}（{basis_zh}），扣除后为 {percent(net)}"
            + ("，资金池已覆盖超出部分。" if covered else "，仍高于规定。")
        )
        en += (
            f" The year drew {draw:,.2f} yuan from the pool ({basis_en}); net of the draw it is"
            f" {percent(net)}"
            + (", so the pool covers the excess." if covered else ", still above the rule.")
        )
    if obs.facts.get("year_in_progress"):
        zh += "（保险年度尚未结束：已赚保费按截止日计，费用为已报告的年初至今数）"
        en += " (Policy year in progress: premium earned to date, expenses as reported.)"
    if projected:
        paid = _format_value(rule, obs.facts.get("paid_value"))
        paid_en = _format_value(rule, obs.facts.get("paid_value"), True)
        zh += (f"该年度赔款尚在结算，此为按链梯法（赔款进展三角形）预计的最终值，属预警性判断；"
               f"按已付赔款计为 {paid}。")
        en += (f" Claims of the year are still being settled: this is the ultimate projected by"
               f" the chain ladder (claims development), a provisional verdict; on claims paid so"
               f" far it is {paid_en}.")
    elif obs.facts.get("provisional"):
        zh += "该年度赔款尚在结算，且尚无更早年度的赔款进展可供推算，此为按已付赔款的预警性判断。"
        en += (" Claims of the year are still being settled and no earlier year's development"
               " allows a projection: a provisional verdict on claims paid so far.")
    elif rule.projection:
        method = obs.facts.get("method", rule.projection)
        zh += f"（预测方法：{PROJECTION_ZH.get(method, method)}）"
        en += f" (projection method: {PROJECTION_EN.get(method, method)})"
    return Alert(
        profile=ev.profile.name,
        rule_id=rule.id,
        severity=severity,
        scope=obs.scope,
        observed=obs.value,
        threshold=threshold,
        gap=gap,
        gap_unit=gap_unit,
        message_zh=zh.strip(),
        message_en=en.strip(),
        citation=_citation(ev.profile, rule),
        projection=(
            obs.facts.get("method", rule.projection)
            if rule.projection or obs.facts.get("provisional") else None
        ),
        details={**obs.facts, **details},
    )


PROJECTION_ZH = {
    "run_rate_14d": f"按最近 {RUN_RATE_DAYS} 天日均参保人数外推至参保截止日",
    "development_from_previous_year": "按上一年度同期至今的赔款进展倍数推算全年赔款",
    "run_rate": "按已过天数占全年比例推算全年赔款",
    "chain_ladder": "链梯法（已付赔款进展三角形，Mack 标准误）预计最终赔款",
}
PROJECTION_EN = {
    "run_rate_14d": f"the last {RUN_RATE_DAYS} days' daily enrolments carried to the deadline",
    "development_from_previous_year": "claims paid to date grown by the previous year's "
    "development from the same point of the year",
    "run_rate": "claims paid to date divided by the share of the year elapsed",
    "chain_ladder": "the ultimate of the chain ladder on the paid claims development (Mack "
    "standard error)",
}



Consequence = tuple[str, str, dict[str, Any]]


def _consequence(ev: Evaluation, rule: Rule, obs: Observation, threshold: float) -> Consequence:
    """What the breach means in the regulator's unit: people short, money owed."""
    explain = CONSEQUENCES.get(rule.metric)
    return explain(ev, rule, obs, threshold) if explain else ("", "", {})


def _people_short(ev: Evaluation, rule: Rule, obs: Observation, threshold: float) -> Consequence:
    facts = obs.facts
    enrolled = facts.get("projected_enrolled", facts["enrolled"])
    needed = max(0, math.ceil(threshold * facts["insured_base"] - 1e-9) - enrolled)
    return (
        f"还需参保 {people(needed)}才能达到 {percent(threshold)}。",
        f"{needed:,} more members are needed to reach {percent(threshold)}.",
        {"shortfall_people": needed},
    )


def _subsidised_missing(
    ev: Evaluation, rule: Rule, obs: Observation, threshold: float
) -> Consequence:
    eligible, enrolled = obs.facts["eligible"], obs.facts["enrolled"]
    missing = int(eligible - enrolled)
    return (
        f"应参保 {people(eligible)}，尚有 {people(missing)}未参保。",
        f"{missing:,} of {eligible:,} entitled people are not enrolled.",
        {"shortfall_people": missing},
    )


def _money_over(ev: Evaluation, rule: Rule, obs: Observation, threshold: float) -> Consequence:
    """The amount above the threshold, an estimate of the product's: the document says where an
    excess goes, never how much it is, so the message says which percentage it is computed from
    and whether that percentage is the document's or a local parameter."""
    earned = Decimal(str(obs.facts["earned_premium"]))
    over = (Decimal(str(obs.value)) - Decimal(str(threshold))) * earned
    destination = str(ev.profile.parameters.surplus_destination.value)
    if rule.is_local(threshold):
        basis_zh, basis_en = f"按本地参数 {percent(threshold)} 估算", (
            f"an estimate from the local parameter {percent(threshold)}"
        )
    else:
        basis_zh, basis_en = f"按文件规定的 {percent(threshold)} 估算", (
            f"an estimate from the document's {percent(threshold)}"
        )
    zh = f"{basis_zh}，超出部分约 {wan_yuan(over)}"
    en = f"The excess is about {metrics.to_fen(over):,.2f} yuan ({basis_en})"
    if destination in ENUMS["surplus_destination"]:
        zh += "，" + label("surplus_destination", destination, "zh")
        en += ", " + label("surplus_destination", destination, "en")
    details: dict[str, Any] = {
        "excess_amount": float(metrics.to_fen(over)),
        "estimate": True,
        "estimate_from_local_parameter": rule.is_local(threshold),
    }
    enrolled = _enrolled(ev, obs.scope.policy_year)
    if destination == "premium_cut" and enrolled:
        per_head = over / enrolled
        zh += f"；若全部用于下调保费，约合每位参保人 {yuan(per_head)}（文件未规定金额）"
        en += (f"; spread over every member, about {per_head:,.2f} yuan each (the document"
               " sets no amount)")
        details["per_member"] = float(metrics.to_fen(per_head))
    return zh + "。", en + ".", details


def _margin_basis(profile: Profile, year: int | None) -> tuple[str, str]:
    """Which margin a pool's draw or excess is computed from, and whose figure it is."""
    margin = profile.margin(year or 0)
    shown = "—" if margin is None else percent(margin)
    if profile.parameters.surplus_margin.local:
        return f"按本地参数 {shown} 估算", f"an estimate from the local parameter {shown}"
    return f"按文件规定的 {shown} 计算", f"computed from the document's {shown}"


def _premiums_found(ev: Evaluation, rule: Rule, obs: Observation, threshold: float) -> Consequence:
    expected = obs.facts["expected_premium"]
    found = "、".join(f"{p:g}" for p in obs.facts["premiums_found"])
    return (
        f"规定保费 {expected:g} 元，实际还出现 {found} 元。",
        f"Expected {expected:g} yuan; also charged {found}.",
        {},
    )


def _premium_and_contribution(
    ev: Evaluation, rule: Rule, obs: Observation, threshold: float
) -> Consequence:
    premium, contribution = obs.facts["premium"], obs.facts["resident_contribution"]
    return (
        f"保费 {premium:g} 元，居民个人缴费 {contribution:g} 元。",
        f"Premium {premium:g} yuan, resident contribution {contribution:g} yuan.",
        {},
    )


def _group_members(ev: Evaluation, rule: Rule, obs: Observation, threshold: float) -> Consequence:
    names = obs.facts["insurers"]
    return f"当年共保体：{'、'.join(names)}。", f"Group that year: {', '.join(names)}.", {}


def _late_payments(ev: Evaluation, rule: Rule, obs: Observation, threshold: float) -> Consequence:
    deadline, last = obs.facts["deadline"], obs.facts["last_enrolment"]
    return (
        f"截止日 {deadline}，最晚缴费 {last}。",
        f"Deadline {deadline}, latest payment {last}.",
        {},
    )


def _window(ev: Evaluation, rule: Rule, obs: Observation, threshold: float) -> Consequence:
    first, last = obs.facts["first_enrolment"], obs.facts["last_enrolment"]
    return f"投保期 {first} 至 {last}。", f"Enrolment ran {first} to {last}.", {}


def _other_premiums(ev: Evaluation, rule: Rule, obs: Observation, threshold: float) -> Consequence:
    facts = obs.facts
    usual = facts["usual_premium"]
    parts_zh, parts_en = [], []
    for status, premiums in facts["other_premiums"].items():
        shown = "、".join(f"{p:g}" for p in premiums)
        parts_zh.append(f"{label('health_status', status, 'zh')} {shown} 元")
        listed = ", ".join(f"{p:g}" for p in premiums)
        parts_en.append(f"{label('health_status', status, 'en').lower()} {listed}")
    count = int(obs.value or 0)
    return (
        f"当年多数参保人保费 {usual:g} 元，另有 {people(count)}按其他保费参保"
        f"（{'；'.join(parts_zh)}），保费应与个人健康状况、年龄、性别等风险因素无关，请核实定价。",
        f"Most members paid {usual:g} yuan; {count:,} enrolments were charged another premium"
        f" ({'; '.join(parts_en)} yuan). The premium may not depend on a member's health, age or"
        " sex: check the pricing.",
        {"other_premium_enrolments": count},
    )


def _self_paid(ev: Evaluation, rule: Rule, obs: Observation, threshold: float) -> Consequence:
    facts = obs.facts
    count, paid = int(obs.value or 0), facts["self_paid"]
    channels_zh = "、".join(label("channel", c, "zh") for c in facts["channels"])
    channels_en = ", ".join(facts["channels"])
    return (
        f"参保 {people(facts['enrolled'])}中 {people(count)}的保费未由财政全额承担"
        f"（个人负担 {yuan(paid)}，缴费渠道：{channels_zh}），应由当地财政资助参保。",
        f"{count:,} of {facts['enrolled']:,} enrolled were not wholly paid for by the government"
        f" (members paid {paid:,.2f} yuan themselves; channels: {channels_en}); the local"
        " treasury is to fund their enrolment.",
        {"self_paid": paid},
    )


def _claims_not_one_stop(
    ev: Evaluation, rule: Rule, obs: Observation, threshold: float
) -> Consequence:
    facts = obs.facts
    missed, paid = facts["not_one_stop"], facts["paid_claims"]
    away = facts["not_one_stop_out_of_area"]
    example = facts["example_claim"]
    return (
        f"已赔付 {paid:,} 件中 {missed:,} 件未经一站式结算（其中统筹区外就医 {away:,} 件，"
        f"如 {example}），这些参保人须自行申请理赔；请督促承办机构接入一站式结算。",
        f"{missed:,} of {paid:,} paid claims were not settled one-stop ({away:,} of them for care"
        f" outside the pooling area; e.g. {example}): these members had to claim themselves."
        " Have the insurers settle through the one-stop system.",
        {"claims_not_one_stop": missed},
    )


def _early_denials(ev: Evaluation, rule: Rule, obs: Observation, threshold: float) -> Consequence:
    facts = obs.facts
    days = facts["early_days"]
    return (
        f"保险年度前 {days} 天就医的赔案拒赔 {facts['early_denied']:,}/{facts['early_decided']:,}"
        f"（{percent(facts['early_rate'])}），其后"
        f" {facts['later_denied']:,}/{facts['later_decided']:,}"
        f"（{percent(facts['later_rate'])}）；这是等待期的迹象（理赔数据没有拒赔原因，仅为推断），"
        "请核查早期拒赔案件的拒赔理由。",
        f"Claims for care in the first {days} days of the year were denied"
        f" {facts['early_denied']:,} of {facts['early_decided']:,}"
        f" ({percent(facts['early_rate'])}), later ones {facts['later_denied']:,} of"
        f" {facts['later_decided']:,} ({percent(facts['later_rate'])}): a sign of a waiting"
        " period, inferred only (the claims carry no reason of denial). Review the reasons of the"
        " early denials.",
        {"early_denied": facts["early_denied"]},
    )


def _mispaid_claims(
    ev: Evaluation, rule: Rule, obs: Observation, threshold: float
) -> Consequence:
    f = obs.facts
    return (
        f"核查 {f['claims_audited']:,} 件理赔，多付 {f['overpaid_count']:,} 件共"
        f" {yuan(f['overpaid_amount'])}，少付 {f['underpaid_count']:,} 件共"
        f" {yuan(f['underpaid_amount'])}（见理赔核查页）。",
        f"Of {f['claims_audited']:,} claims audited, {f['overpaid_count']:,} were overpaid by"
        f" {f['overpaid_amount']:,.2f} yuan and {f['underpaid_count']:,} underpaid by"
        f" {f['underpaid_amount']:,.2f} yuan (see the claims audit page).",
        {},
    )


CONSEQUENCES: dict[str, Callable[[Evaluation, Rule, Observation, float], Consequence]] = {
    "participation_rate": _people_short,
    "projected_participation_rate": _people_short,
    "subsidy_coverage": _subsidised_missing,
    "profit_rate": _money_over,
    "cost_and_profit_rate": _money_over,
    "premium_mismatch_count": _premiums_found,
    "premium_to_contribution": _premium_and_contribution,
    "insurer_count": _group_members,
    "late_enrolment_count": _late_payments,
    "enrolment_window_days": _window,
    "premium_variation_count": _other_premiums,
    "unfunded_subsidised_count": _self_paid,
    "not_one_stop_share": _claims_not_one_stop,
    "early_denial_gap": _early_denials,
    "mispaid_share": _mispaid_claims,
}


def _enrolled(ev: Evaluation, policy_year: int | None) -> int:
    rows = ev.participation.filter(
        (pl.col("policy_year") == policy_year) & pl.col("county_code").is_null()
    )
    return int(rows["enrolled"][0]) if rows.height else 0


# -- notices: what the rulebook asks to report ----------------------------------------------


def _notices(ev: Evaluation) -> Iterable[Notice]:
    yield from _out_of_force_notices(ev)
    governed: list[Notice] = []
    for rule in ev.profile.rules:
        if rule.kind == "condition" and rule.id == "city_participation_tier":
            governed += _tier_notices(ev, rule)
    if any(ev.profile.keeps_pool(r.policy_year) for r in ev.year_totals()):
        governed += _pool_notices(ev)
    yield from (n for n in governed if ev.profile.governs(n.policy_year))


def data_years(ev: Evaluation) -> list[int]:
    """The policy years the store has figures for at the as-of date."""
    years = {int(y) for y in ev.participation["policy_year"].to_list() if y is not None}
    years |= {row.policy_year for row in ev.year_totals()}
    return sorted(years)


def period_citation(profile: Profile) -> Citation:
    period = profile.document.in_force
    return Citation(
        document=profile.document.number,
        clause=period.clause,
        quote=period.quote,
        local_parameter=period.note if period.local else None,
    )


def _out_of_force_notices(ev: Evaluation) -> Iterable[Notice]:
    """Once per policy year of the data that the rulebook's document does not govern: its
    figures are shown, no rule judges it."""
    profile = ev.profile
    period = profile.document.in_force
    for year in data_years(ev):
        if profile.governs(year):
            continue
        yield Notice(
            profile.name,
            "outside_period_of_force",
            year,
            f"{year} 年度不在《{profile.document.title}》（{profile.document.number}）适用期内"
            f"（{period.years_zh()}）：只列数字，不作判断。",
            f"{year} is outside the period of force of {profile.document.number}"
            f" ({period.years_en()}): figures only, no verdicts.",
            period_citation(profile),
            {
                "first_year": period.first_year,
                "last_year": period.last_year,
                "valid_to": None if period.valid_to is None else period.valid_to.isoformat(),
            },
        )


def _tier_notices(ev: Evaluation, rule: Rule) -> Iterable[Notice]:
    whole = ev.participation.filter(pl.col("county_code").is_null())
    for r in whole.iter_rows(named=True):
        rate = r["rate"]
        if rate is None or r["policy_year"] > ev.as_of.year:
            continue
        if rate >= 0.30:
            cap_zh, cap_en, cap = "个人自付封顶 10 万元", "out-of-pocket cap 100,000 yuan", 100_000
        elif rate >= 0.20:
            cap_zh, cap_en, cap = "个人自付封顶 12 万元", "out-of-pocket cap 120,000 yuan", 120_000
        else:
            cap_zh, cap_en, cap = "未达到封顶条件", "no out-of-pocket cap applies", None
        yield Notice(
            ev.profile.name,
            "out_of_pocket_cap_tier",
            r["policy_year"],
            f"{ev.profile.jurisdiction.name_zh}{r['policy_year']}年度全市参保率 {percent(rate)}，"
            f"适用档次：{cap_zh}。",
            f"{ev.profile.jurisdiction.name_en} {r['policy_year']}: city participation "
            f"{percent(rate)}; tier in force: {cap_en}.",
            _citation(ev.profile, rule),
            {"rate": rate, "cap": cap},
        )


def _pool_notices(ev: Evaluation) -> Iterable[Notice]:
    margin_parameter = ev.profile.parameters.keeps_pool
    margin = ev.profile.parameters.surplus_margin
    citation = Citation(
        ev.profile.document.number, margin_parameter.clause, margin_parameter.quote,
        local_parameter=margin.note if margin.local else None,
    )
    for row in ev.year_totals():
        if row.pool_open is None:
            continue
        basis_zh, basis_en = _margin_basis(ev.profile, row.policy_year)
        yield Notice(
            ev.profile.name,
            "carry_forward_pool",
            row.policy_year,
            f"{row.policy_year}年度结余资金池：年初 {wan_yuan(row.pool_open)}，"
            f"动用 {wan_yuan(row.pool_draw)}，转入 {wan_yuan(row.excess_surplus)}，"
            f"年末 {wan_yuan(row.pool_close)}（动用与转入{basis_zh}）。",
            f"Pool {row.policy_year}: opened {wan_yuan(row.pool_open)}, drew "
            f"{wan_yuan(row.pool_draw)}, added {wan_yuan(row.excess_surplus)}, closed "
            f"{wan_yuan(row.pool_close)} (1 万元 = 10,000 yuan; draw and addition are"
            f" {basis_en}).",
            citation,
            {
                "open": float(row.pool_open),
                "draw": float(row.pool_draw or 0),
                "added": float(row.excess_surplus or 0),
                "close": float(row.pool_close or 0),
            },
        )
