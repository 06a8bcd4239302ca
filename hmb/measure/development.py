"""Claims development (contract §5): the paid triangle, the chain ladder and Mack's standard errors.

DuckDB sums the paid claims by policy year and development period
(queries/claims_development.sql); only that small triangle comes to Python, where
:func:`chain_ladder` projects it. The projection is the volume-weighted chain ladder without a
tail, and its precision is Mack's (1993) distribution-free standard error, with the last variance
parameter extrapolated as min(σ⁴ₙ₋₂ / σ²ₙ₋₃, σ²ₙ₋₃, σ²ₙ₋₂). The reference triangles (GenIns of
Taylor & Ashe 1983, RAA) are reproduced by the tests; docs/development.md says why this is a small
implementation of its own rather than the ``chainladder`` package.

Origins are policy years; development periods are years, quarters or months counted from 1 January
of the policy year (period 1 is the policy year's first). Periods are ``age`` in the contract: the
latest period that the as-of date has reached for an origin. A figure the method cannot give (a
factor whose origins paid nothing at the earlier age, a variance no origin can estimate) is
``None``, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import numpy as np

import queries
from hmb.measure.metrics import earned_premium, ratio, to_fen

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from hmb.rulebook.profiles import Profile

Grain = Literal["year", "quarter", "month"]
GRAINS: tuple[Grain, ...] = ("year", "quarter", "month")
MONTHS_PER_PERIOD: dict[Grain, int] = {"year": 12, "quarter": 3, "month": 1}


# The grain the verdicts (hmb.judge.rules) and the app's pages use unless told otherwise: by
# month, the current, partly elapsed period weighs least in the projection (by year, a year
# five days into its second period is projected as if that period were over).
DEFAULT_GRAIN: Grain = "month"

# A policy year's claims are taken as settled once they have had a year to settle after it
# ended: 24 months of development from 1 January of the year, whatever the grain. No document
# sets this number: it is a local parameter of the product, from how these claims settle (most
# within a year, a few large ones later). Before then a year is *developing*: the page draws
# its projection as provisional and the verdicts (hmb.judge.rules) judge it on its projected
# ultimate, never critically.
MATURE_AGE_MONTHS = 24


def is_developing(policy_year: int, as_of: date) -> bool:
    """Fewer than :data:`MATURE_AGE_MONTHS` months of development reached at ``as_of``: the
    one notion of "still developing" the page, the charts and the verdicts share."""
    return age(policy_year, as_of, "month") < MATURE_AGE_MONTHS

def development_period(policy_year: int, day: date, grain: Grain) -> int:
    """The development period of ``day`` for origin ``policy_year``: 1 in the policy year's first
    year, quarter or month, counted on from 1 January of the policy year."""
    months = (day.year - policy_year) * 12 + day.month - 1
    return months // MONTHS_PER_PERIOD[grain] + 1


def age(policy_year: int, as_of: date, grain: Grain) -> int:
    """The latest development period the as-of date has reached for ``policy_year`` (0 before the
    policy year starts)."""
    return max(0, development_period(policy_year, as_of, grain))


# -- the chain ladder on a triangle ---------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """The chain ladder and Mack's standard errors on one cumulative triangle.

    ``factors[k]`` develops age k + 1 to age k + 2 (ages count from 1); ``sigma2[k]`` is its Mack
    variance parameter. Per origin, in the triangle's row order: ``latest``, ``ultimate`` and
    ``mack_se`` (the standard error of the ultimate, which is that of the IBNR).
    """

    factors: tuple[float | None, ...]
    sigma2: tuple[float | None, ...]
    ages: tuple[int, ...]
    latest: tuple[float, ...]
    ultimate: tuple[float | None, ...]
    mack_se: tuple[float | None, ...]
    total_mack_se: float | None

    @property
    def ibnr(self) -> tuple[float | None, ...]:
        return tuple(
            None if u is None else u - c for u, c in zip(self.ultimate, self.latest, strict=True)
        )

    @property
    def total_latest(self) -> float:
        return math.fsum(self.latest)

    @property
    def total_ultimate(self) -> float | None:
        if any(u is None for u in self.ultimate):
            return None
        return math.fsum(u for u in self.ultimate if u is not None)

    @property
    def total_ibnr(self) -> float | None:
        total = self.total_ultimate
        return None if total is None else total - self.total_latest


def chain_ladder(triangle: Sequence[Sequence[float]] | NDArray[np.float64]) -> Projection:
    """Project a cumulative triangle (rows: origins; columns: ages 1, 2, …; NaN where an origin
    has not reached that age yet; every origin observed from age 1 to its latest age).

    Factors are volume-weighted over every origin observed at both ages (contract §5):
    f_k = Σ C(i, k+1) / Σ C(i, k); no tail, so an origin at the oldest age is final. Mack (1993):
    σ²_k = Σ C(i, k) (C(i, k+1)/C(i, k) − f_k)² / (n_k − 1) over the n_k origins that paid at
    age k; where n_k < 2, σ²_k = min(σ⁴_{k−1} / σ²_{k−2}, σ²_{k−2}, σ²_{k−1}) (the last one in
    a square triangle; every such one in order where origins are years and ages quarters or
    months), or σ²_{k−1} where it is the only earlier estimate (a triangle of three origins:
    the largest value Mack's rule could give), or None where there is none. The mean squared
    error of origin i's ultimate is
    Ĉ(i)² Σ_k σ²_k / f_k² (1 / Ĉ(i, k) + 1 / Σ_j C(j, k)) over the ages still to come, and the
    total's adds 2 Ĉ(i) Ĉ(j) Σ_k (σ²_k / f_k²) / Σ_l C(l, k) for each pair of origins over the ages
    both have still to come.
    """
    cells = np.asarray(triangle, dtype=np.float64)
    if cells.ndim != 2 or cells.shape[0] == 0 or cells.shape[1] == 0:
        raise ValueError("a triangle has at least one origin and one age")
    observed = ~np.isnan(cells)
    ages = observed.sum(axis=1)
    for row, seen in enumerate(observed):
        if ages[row] == 0 or not seen[: ages[row]].all():
            raise ValueError(f"origin {row} is not observed from age 1 to its latest age")
    width = cells.shape[1]
    factors: list[float | None] = []
    volumes: list[float] = []  # Σ C(i, k) over the origins behind factor k
    sigma2: list[float | None] = []
    for k in range(width - 1):
        both = ages >= k + 2
        earlier, later = cells[both, k], cells[both, k + 1]
        volume = math.fsum(earlier)
        factor = math.fsum(later) / volume if both.any() and volume > 0 else None
        if not both.any():
            factor = 1.0  # no origin has reached these ages: no tail
        factors.append(factor)
        volumes.append(volume)
        sigma2.append(_sigma2(earlier, later, factor, sigma2))

    latest = [float(cells[i, ages[i] - 1]) for i in range(cells.shape[0])]
    ultimate: list[float | None] = []
    mack_se: list[float | None] = []
    for i, current in enumerate(latest):
        to_come = range(int(ages[i]) - 1, width - 1)
        ultimate.append(_ultimate(current, [factors[k] for k in to_come]))
        mack_se.append(_origin_se(current, to_come, factors, sigma2, volumes))
    total = _total_se(
        ultimate=ultimate, mack_se=mack_se, ages=[int(a) for a in ages], factors=factors,
        sigma2=sigma2, volumes=volumes,
    )
    return Projection(
        factors=tuple(factors),
        sigma2=tuple(sigma2),
        ages=tuple(int(a) for a in ages),
        latest=tuple(latest),
        ultimate=tuple(ultimate),
        mack_se=tuple(mack_se),
        total_mack_se=total,
    )


def _sigma2(
    earlier: NDArray[np.float64],
    later: NDArray[np.float64],
    factor: float | None,
    before: Sequence[float | None],
) -> float | None:
    paid = earlier > 0  # an origin that had paid nothing has no development ratio
    if factor is not None and paid.sum() >= 2:
        ratios = later[paid] / earlier[paid]
        return math.fsum(earlier[paid] * (ratios - factor) ** 2) / (int(paid.sum()) - 1)
    last = before[-1] if before else None
    if last is None:
        return None
    previous = before[-2] if len(before) >= 2 else None
    if previous is None:
        return last  # one earlier estimate: the bound Mack's rule never exceeds
    extrapolated = last * last / previous if previous > 0 else math.inf
    return min(extrapolated, previous, last)


def _ultimate(latest: float, factors: Sequence[float | None]) -> float | None:
    if latest == 0:
        return 0.0  # the chain ladder projects nothing from nothing paid
    if any(f is None for f in factors):
        return None
    return latest * math.prod(f for f in factors if f is not None)


def _origin_se(
    latest: float,
    to_come: range,
    factors: Sequence[float | None],
    sigma2: Sequence[float | None],
    volumes: Sequence[float],
) -> float | None:
    if latest == 0:
        return 0.0  # Mack's error vanishes with the amount projected
    projected, weight = latest, 0.0
    for k in to_come:
        factor, variance = factors[k], sigma2[k]
        if factor is None or variance is None:
            return None
        weight += variance / factor**2 * (1 / projected + 1 / volumes[k])
        projected *= factor
    return math.sqrt(projected**2 * weight)


def _total_se(
    *,
    ultimate: Sequence[float | None],
    mack_se: Sequence[float | None],
    ages: Sequence[int],
    factors: Sequence[float | None],
    sigma2: Sequence[float | None],
    volumes: Sequence[float],
) -> float | None:
    if any(u is None for u in ultimate) or any(s is None for s in mack_se):
        return None
    width = len(factors) + 1
    # parameter[k]: Σ over the ages from k on of (σ²/f²) / Σ C, shared by every origin still
    # to develop past age k + 1.
    parameter = [0.0] * width
    for k in reversed(range(width - 1)):
        factor, variance = factors[k], sigma2[k]
        share = 0.0
        if variance is not None and factor is not None and volumes[k] > 0:
            share = variance / factor**2 / volumes[k]
        parameter[k] = parameter[k + 1] + share
    mse = math.fsum(s * s for s in mack_se if s is not None)
    for i in range(len(ultimate)):
        for j in range(i + 1, len(ultimate)):
            ui, uj = ultimate[i], ultimate[j]
            if ui is None or uj is None or ui == 0 or uj == 0:
                continue
            mse += 2 * ui * uj * parameter[max(ages[i], ages[j]) - 1]
    return math.sqrt(mse)


# -- the development table of a data folder -------------------------------------------------------


@dataclass(frozen=True)
class OriginRow:
    """One policy year of the development table: its projection and actual against expected."""

    policy_year: int
    age: int
    latest: float
    ultimate: float | None
    ibnr: float | None
    mack_se: float | None
    earned_premium: Decimal
    expected_loss_ratio: float | None
    # Written premium at the as-of date (contract §3): the whole year's premium, against which
    # a whole year's ultimate is read. Not in contract §5's JSON.
    written_premium: Decimal

    @property
    def projected_loss_ratio(self) -> float | None:
        """Contract §5: ultimate ÷ premium *earned* at the as-of date. For a year still in force
        this sets a whole year's projected claims against part of its premium and overstates;
        the page reads :attr:`full_year_loss_ratio` instead (docs/development.md)."""
        if self.ultimate is None:
            return None
        return ratio(Decimal(repr(self.ultimate)), self.earned_premium)

    @property
    def full_year_loss_ratio(self) -> float | None:
        """Ultimate ÷ written premium: the year's projected claims against the year's premium.
        Equal to :attr:`projected_loss_ratio` once the year has ended (all of it is earned);
        for a year in force, the figure to compare with the expected ratio."""
        if self.ultimate is None:
            return None
        return ratio(Decimal(repr(self.ultimate)), self.written_premium)

    @property
    def full_year_loss_ratio_se(self) -> float | None:
        """Mack's standard error ÷ written premium: the ± of :attr:`full_year_loss_ratio`."""
        if self.mack_se is None:
            return None
        return ratio(Decimal(repr(self.mack_se)), self.written_premium)

    @property
    def full_year_deviation(self) -> float | None:
        projected = self.full_year_loss_ratio
        if projected is None or self.expected_loss_ratio is None:
            return None
        return projected - self.expected_loss_ratio

    @property
    def paid_loss_ratio(self) -> float | None:
        """Paid to date ÷ earned premium: the loss ratio the year shows before projection."""
        return ratio(Decimal(repr(self.latest)), self.earned_premium)

    @property
    def loss_ratio_se(self) -> float | None:
        """Mack's standard error of the ultimate ÷ earned premium: the ± of the projected loss
        ratio, in the same units (a fraction of premium); None where either is unknown."""
        if self.mack_se is None:
            return None
        return ratio(Decimal(repr(self.mack_se)), self.earned_premium)

    @property
    def deviation(self) -> float | None:
        projected = self.projected_loss_ratio
        if projected is None or self.expected_loss_ratio is None:
            return None
        return projected - self.expected_loss_ratio

    def as_json(self) -> dict[str, Any]:
        return {
            "policy_year": self.policy_year,
            "age": self.age,
            "latest": _money(self.latest),
            "ultimate": _money(self.ultimate),
            "ibnr": _money(self.ibnr),
            "mack_se": _money(self.mack_se),
            "earned_premium": float(to_fen(self.earned_premium)),
            "projected_loss_ratio": self.projected_loss_ratio,
            "expected_loss_ratio": self.expected_loss_ratio,
            "deviation": self.deviation,
        }


@dataclass(frozen=True)
class Development:
    """Contract §5's object: the origins, their total and the factors, at one as-of and grain."""

    as_of: date
    grain: Grain
    origins: tuple[OriginRow, ...]
    projection: Projection | None  # None when no policy year has started by the as-of date
    triangle: tuple[tuple[float | None, ...], ...]  # cumulative paid; None past an origin's age

    @property
    def oldest_age(self) -> int:
        """The oldest age any origin has reached: an origin there is final (no tail)."""
        return max((o.age for o in self.origins), default=0)

    def developing(self, origin: OriginRow) -> bool:
        """Still developing (:func:`is_developing`): its projection is provisional."""
        return is_developing(origin.policy_year, self.as_of)

    def in_force(self, origin: OriginRow) -> bool:
        """The policy year is still running at the as-of date (policy years are calendar
        years): its claims so far cover part of the year only."""
        return origin.policy_year == self.as_of.year

    def projected_path(self, origin: OriginRow) -> tuple[float, ...]:
        """The origin's cumulative paid claims as the chain ladder projects them, from its
        latest age to the oldest: latest, latest × f(age → age + 1), … (the last is its
        ultimate); () where a factor is unknown, the origin is settled or at the oldest age (no
        factor left to apply) or has paid nothing (the chain ladder projects nothing from
        nothing: unknown, not zero)."""
        if self.projection is None or not self.developing(origin) or origin.latest == 0:
            return ()
        factors = self.projection.factors[origin.age - 1 : self.oldest_age - 1]
        path = [origin.latest]
        for factor in factors:
            if factor is None:
                return ()
            path.append(path[-1] * factor)
        return tuple(path) if len(path) > 1 else ()

    def origin(self, policy_year: int) -> OriginRow | None:
        return next((o for o in self.origins if o.policy_year == policy_year), None)

    def as_json(self, profile: str) -> dict[str, Any]:
        p = self.projection
        return {
            "profile": profile,
            "as_of": self.as_of.isoformat(),
            "grain": self.grain,
            "basis": "paid",
            "origins": [o.as_json() for o in self.origins],
            "total": {
                "latest": _money(p.total_latest if p else 0.0),
                "ultimate": _money(p.total_ultimate if p else 0.0),
                "ibnr": _money(p.total_ibnr if p else 0.0),
                "mack_se": _money(p.total_mack_se if p else 0.0),
            },
            "factors": [
                {"from_age": k + 1, "to_age": k + 2, "factor": f}
                for k, f in enumerate(p.factors if p else ())
            ],
        }


def _money(value: float | None) -> float | None:
    return None if value is None else float(to_fen(Decimal(repr(value))))


def expected_loss_ratio(profile: Profile, policy_year: int) -> float | None:
    """The payout ratio the rulebook requires of the year (its standing loss-ratio rule's
    threshold: 湘政办发〔2024〕5号 三 85 %, 沈医保发〔2021〕40号 三（三） 75 %), or None where the
    document sets none (a local parameter, shown as not set)."""
    rule = profile.rule_on("loss_ratio")
    if rule is None or not rule.applies_to(policy_year):
        return None
    return rule.critical if rule.critical is not None else rule.warning


def cumulative_triangle(
    increments: Sequence[dict[str, Any]], origins: Sequence[int], as_of: date, grain: Grain
) -> NDArray[np.float64]:
    """The cumulative paid triangle of contract §5 from queries/claims_development.sql's rows,
    for ``origins`` (policy years that have started by ``as_of``): rows in the order given, NaN
    past each origin's age."""
    ages = [age(year, as_of, grain) for year in origins]
    width = max(ages, default=0)
    paid = np.zeros((len(origins), width), dtype=np.float64)
    row_of = {year: i for i, year in enumerate(origins)}
    for cell in increments:
        row = row_of.get(int(cell["policy_year"]))
        if row is not None:
            paid[row, int(cell["development_period"]) - 1] += float(cell["paid"])
    cumulative = np.cumsum(paid, axis=1)
    for row, reached in enumerate(ages):
        cumulative[row, reached:] = np.nan
    return cumulative


def development(
    con: duckdb.DuckDBPyConnection, profile: Profile, as_of: date, grain: Grain = "year"
) -> Development:
    """Contract §5 on a validated store: every policy year found in the enrolment, the insurers
    or the claims that has started by ``as_of``, oldest first."""
    written = {
        int(r["policy_year"]): Decimal(r["written_premium"])
        for r in queries.rows(con, "written_premium", as_of=as_of)
    }
    increments = queries.rows(
        con, "claims_development", as_of=as_of, months_per_period=MONTHS_PER_PERIOD[grain]
    )
    paid_years = {int(cell["policy_year"]) for cell in increments}
    origins = sorted(y for y in written.keys() | paid_years if age(y, as_of, grain) >= 1)
    if not origins:
        return Development(as_of, grain, (), None, ())
    cells = cumulative_triangle(increments, origins, as_of, grain)
    projection = chain_ladder(cells)
    ibnr = projection.ibnr
    rows = tuple(
        OriginRow(
            policy_year=year,
            age=projection.ages[i],
            latest=projection.latest[i],
            ultimate=projection.ultimate[i],
            ibnr=ibnr[i],
            mack_se=projection.mack_se[i],
            earned_premium=earned_premium(written.get(year, Decimal(0)), year, as_of),
            expected_loss_ratio=expected_loss_ratio(profile, year),
            written_premium=written.get(year, Decimal(0)),
        )
        for i, year in enumerate(origins)
    )
    triangle = tuple(
        tuple(None if math.isnan(v) else float(v) for v in row) for row in cells.tolist()
    )
    return Development(as_of, grain, rows, projection, triangle)
