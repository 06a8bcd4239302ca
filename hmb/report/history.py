"""Briefs made, as the audit trail records them: each one an ``export`` whose details hold the
figures it showed and their fingerprint, so the next brief can say what changed since.

The brief compared with is the last one recorded for the same jurisdiction, policy year and
counties, as of the same date or earlier, on *other* figures: making the same brief twice
compares both with the same earlier one, so the two PDFs are the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hmb.state.audit import AuditTrail, Origin


@dataclass(frozen=True)
class PreviousBrief:
    seq: int
    at: str
    as_of: str
    figures: dict[str, Any]
    fingerprint: str


def previous_brief(trail: AuditTrail, details: dict[str, Any]) -> PreviousBrief | None:
    """The last recorded brief of the same scope on other figures, or None."""
    for event in reversed(trail.read(actions=("export",))):
        made = event.details
        if (made.get("kind") == "brief"
                and made.get("profile") == details["profile"]
                and made.get("policy_year") == details["policy_year"]
                and made.get("counties") == details["counties"]
                and str(made.get("as_of", "")) <= details["as_of"]
                and made.get("figures_fingerprint") != details["figures_fingerprint"]
                and isinstance(made.get("figures"), dict)):
            return PreviousBrief(event.seq, event.at.isoformat(), str(made["as_of"]),
                                 made["figures"], str(made["figures_fingerprint"]))
    return None


def record_brief(trail: AuditTrail, username: str, role: str | None, details: dict[str, Any],
                 *, file_name: str, origin: Origin) -> None:
    trail.record("export", username, role, {**details, "file": file_name}, origin)
