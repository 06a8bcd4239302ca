"""An alert: one rule breached (or about to be) in one scope, with the numbers and the clause.

Alerts are values. The rule engine (hmb.judge.rules) produces them from metrics; the alert store
(hmb.state.alert_store) remembers what was done about them. An alert's ``id`` depends only on the
rule
and the scope, so evaluating the same data twice yields the same ids and never duplicates.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

Severity = Literal["critical", "warning", "info"]
# Where an alert stands in its lifecycle, which the alert store (hmb.state.alert_store) keeps.
AlertState = Literal["firing", "acknowledged", "waived", "resolved"]
ALERT_STATES: tuple[AlertState, ...] = get_args(AlertState)
GapUnit = Literal["pp", "yuan", "wan_yuan", "people", "count", "days", "insurers"]

SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Scope:
    """Where a rule was broken. Unused parts are None (a jurisdiction-wide alert has all None
    but the policy year)."""

    policy_year: int | None = None
    county_code: str | None = None
    insurer_id: str | None = None
    subsidy_group: str | None = None

    def key(self) -> str:
        return "|".join(
            "" if v is None else str(v)
            for v in (self.policy_year, self.county_code, self.insurer_id, self.subsidy_group)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy_year": self.policy_year,
            "county_code": self.county_code,
            "insurer_id": self.insurer_id,
            "subsidy_group": self.subsidy_group,
        }


@dataclass(frozen=True)
class Citation:
    document: str
    clause: str | None
    quote: str | None
    local_parameter: str | None = None  # set when the threshold is not the document's number

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass(frozen=True)
class Alert:
    profile: str
    rule_id: str
    severity: Severity
    scope: Scope
    observed: float | None
    threshold: float | None
    gap: float | None
    gap_unit: GapUnit
    message_zh: str
    message_en: str
    citation: Citation
    projection: str | None = None  # the method, when the alert is a projection (early warning)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return alert_id(self.profile, self.rule_id, self.scope)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "profile": self.profile,
            "rule_id": self.rule_id,
            "severity": self.severity,
            "scope": self.scope.as_dict(),
            "observed": self.observed,
            "threshold": self.threshold,
            "gap": self.gap,
            "gap_unit": self.gap_unit,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "citation": self.citation.as_dict(),
            "projection": self.projection,
            "details": self.details,
        }


def alert_id(profile: str, rule_id: str, scope: Scope) -> str:
    """Stable id: the same rule in the same scope is the same alert, whatever the data date."""
    digest = hashlib.sha256(f"{profile}|{rule_id}|{scope.key()}".encode()).hexdigest()
    return digest[:16]
