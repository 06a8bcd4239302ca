"""The alert lifecycle: what happened to each alert, in an embedded store that outlives restarts.

The rule engine produces alerts as values (hmb.judge.alerts); this module remembers them. Each
alert id
has one row in ``alerts`` with its current state, and every change is appended to
``alert_history`` so a supervisor can see months later who did what, when, and on which numbers.

States and the events that move between them::

    (new) --fired--> firing --acknowledged--> acknowledged --refired (severity worse)--> firing
    firing | acknowledged --waived--> waived --waiver_expired--> firing (or resolved)
    firing | acknowledged | waived --resolved--> resolved --refired--> firing
    any open state --updated--> the same state, when the observed value or severity changed

Why SQLite and not DuckDB: the dashboard (several Streamlit sessions, each in its own thread) and
command-line runs (separate processes) write alerts at the same time. DuckDB lets only one process
open a database file for writing, so a CLI run would fail while the dashboard is up. SQLite in
WAL mode lets any number of processes read while one writes, and queues writers behind a busy
timeout. Every write is a ``BEGIN IMMEDIATE`` transaction that reads the state it changes, so two
writers never lose each other's work; they simply take turns.

Each call opens its own short-lived connection: a SQLite connection holds one transaction at a
time, so sharing it between Streamlit threads would mix their transactions. Opening a connection
to a local file costs microseconds; the store object itself is safe to cache and share.

Timestamps are UTC ISO strings with microseconds. Transitions made by ``sync`` are stamped with
the evaluation time (``EvaluationContext.evaluated_at``) and the actor ``SYSTEM_ACTOR``;
acknowledgements and waivers with the wall clock. History is ordered by ``seq``.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, cast

from hmb.judge.alerts import (
    ALERT_STATES,
    SEVERITY_ORDER,
    Alert,
    AlertState,
    Citation,
    GapUnit,
    Scope,
    Severity,
)
from hmb.state import sqlite_files

Event = Literal[
    "fired", "updated", "acknowledged", "waived", "waiver_expired", "resolved", "refired"
]

OPEN_STATES: tuple[AlertState, ...] = ("firing", "acknowledged", "waived")
SYSTEM_ACTOR = "system"
SCHEMA_VERSION = 1

_ALERTS_TABLE = """
create table alerts (
    id                   text primary key,
    profile              text not null,
    rule_id              text not null,
    severity             text not null check (severity in ('critical', 'warning', 'info')),
    scope                text not null,  -- JSON of hmb.judge.alerts.Scope
    policy_year          integer,        -- the scope again, as columns to filter on
    county_code          text,
    insurer_id           text,
    subsidy_group        text,
    state                text not null
                         check (state in ('firing', 'acknowledged', 'waived', 'resolved')),
    observed             real,
    threshold            real,
    gap                  real,
    gap_unit             text not null,
    message_zh           text not null,
    message_en           text not null,
    citation             text not null,  -- JSON of hmb.judge.alerts.Citation
    projection           text,
    first_seen           text not null,
    last_seen            text not null,  -- the last evaluation that found the rule breached
    last_changed         text not null,  -- the last history row written for this alert
    acknowledged_by      text,
    acknowledged_at      text,
    acknowledged_comment text,
    waived_by            text,
    waived_at            text,
    waived_reason        text,
    waived_until         text,           -- ISO date; the waiver holds through this day
    resolved_at          text,
    rulebook_version     text not null,  -- provenance of the values above (as of last_seen)
    data_fingerprint     text not null,
    as_of                text not null
)
"""

_HISTORY_TABLE = """
create table alert_history (
    seq              integer primary key autoincrement,
    alert_id         text not null references alerts (id),
    at               text not null,
    event            text not null check (event in ('fired', 'updated', 'acknowledged',
                         'waived', 'waiver_expired', 'resolved', 'refired')),
    from_state       text,
    to_state         text not null,
    actor            text not null,
    comment          text,
    severity         text not null,
    observed         real,
    threshold        real,
    gap              real,
    rulebook_version text not null,
    data_fingerprint text not null,
    as_of            text not null
)
"""

# One tuple of statements per schema version: _MIGRATIONS[v] upgrades version v to v + 1.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        _ALERTS_TABLE,
        "create index alerts_by_profile_state on alerts (profile, state)",
        _HISTORY_TABLE,
        "create index alert_history_by_alert on alert_history (alert_id, seq)",
        # The history is evidence: once written, a row can be neither changed nor removed.
        """
        create trigger alert_history_is_append_only_update before update on alert_history
        begin select raise(abort, 'alert_history is append-only'); end
        """,
        """
        create trigger alert_history_is_append_only_delete before delete on alert_history
        begin select raise(abort, 'alert_history is append-only'); end
        """,
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION


class AlertStateError(ValueError):
    """An action the alert's lifecycle does not allow, or one missing what it needs."""


@dataclass(frozen=True)
class EvaluationContext:
    """One evaluation of a rulebook profile: what was evaluated, on which data, and when."""

    profile: str
    rulebook_version: str
    data_fingerprint: str
    as_of: date
    evaluated_at: datetime | None = None  # timezone-aware; None means now (UTC)

    def __post_init__(self) -> None:
        if self.evaluated_at is None:
            object.__setattr__(self, "evaluated_at", datetime.now(UTC))
        elif self.evaluated_at.utcoffset() is None:
            raise ValueError("evaluated_at must be timezone-aware (UTC)")
        else:
            object.__setattr__(self, "evaluated_at", self.evaluated_at.astimezone(UTC))

    @property
    def evaluated_at_utc(self) -> datetime:
        assert self.evaluated_at is not None  # filled in by __post_init__
        return self.evaluated_at


@dataclass(frozen=True)
class AlertRecord:
    """One row of ``alerts``. The scope columns are folded back into ``scope``."""

    id: str
    profile: str
    rule_id: str
    severity: Severity
    scope: Scope
    state: AlertState
    observed: float | None
    threshold: float | None
    gap: float | None
    gap_unit: GapUnit
    message_zh: str
    message_en: str
    citation: Citation
    projection: str | None
    first_seen: datetime
    last_seen: datetime
    last_changed: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    acknowledged_comment: str | None
    waived_by: str | None
    waived_at: datetime | None
    waived_reason: str | None
    waived_until: date | None
    resolved_at: datetime | None
    rulebook_version: str
    data_fingerprint: str
    as_of: date


@dataclass(frozen=True)
class Transition:
    """One row of ``alert_history``: an event, the state it moved between, and the evidence.

    A ``resolved`` row (and a ``waiver_expired`` row ending in ``resolved``) has no observed value
    or gap: the rule engine reports breaches only. Its severity and threshold are the last ones
    breached; its rulebook version, fingerprint and as-of date are those of the evaluation that
    found the rule no longer breached.
    """

    seq: int
    alert_id: str
    at: datetime
    event: Event
    from_state: AlertState | None
    to_state: AlertState
    actor: str
    comment: str | None
    severity: Severity
    observed: float | None
    threshold: float | None
    gap: float | None
    rulebook_version: str
    data_fingerprint: str
    as_of: date


@dataclass(frozen=True)
class SyncResult:
    """The ids touched by one ``sync``, by the history event written. Each id is in one list."""

    fired: list[str] = field(default_factory=list)
    refired: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    waiver_expired: list[str] = field(default_factory=list)


class AlertStore:
    """The alerts of every profile, in one SQLite file. Safe to share between threads and to
    open from several processes at once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        sqlite_files.create_private(self.path)
        with closing(self._connect()) as con:
            sqlite_files.enable_wal(con, self.path)
            if _schema_version(con) != SCHEMA_VERSION:
                _migrate(con, self.path)

    # -- evaluation --------------------------------------------------------------------------

    def sync(self, alerts: Sequence[Alert], context: EvaluationContext) -> SyncResult:
        """Record one evaluation of ``context.profile``: ``alerts`` is everything breached now.

        An alert already known with the same values adds no history (only its ``last_seen`` and
        provenance move on); a waiver whose day has passed expires; alerts of the profile that
        are open but absent from ``alerts`` are resolved. One transaction, all or nothing.
        """
        by_id: dict[str, Alert] = {}
        for alert in alerts:
            if alert.profile != context.profile:
                raise ValueError(
                    f"alert {alert.id} belongs to profile {alert.profile!r}, "
                    f"not {context.profile!r}"
                )
            if alert.id in by_id:
                raise ValueError(f"alert {alert.id} ({alert.rule_id}) appears twice")
            by_id[alert.id] = alert

        at = _timestamp(context.evaluated_at_utc)
        evaluation_day = context.evaluated_at_utc.date()
        result = SyncResult()
        with self._transaction() as con:
            known = {
                row["id"]: row
                for row in con.execute(
                    "select * from alerts where profile = ?", (context.profile,)
                )
            }
            for alert_id, alert in by_id.items():
                row = known.get(alert_id)
                if row is None:
                    _insert_alert(con, alert, context, at)
                    _append(con, alert_id, "fired", at=at, from_state=None, to_state="firing",
                            values=_values(alert, context))
                    result.fired.append(alert_id)
                    continue
                event, state = _next_for_breach(row, alert, evaluation_day)
                _update_breached(con, row, alert, context, at=at, state=state,
                                 changed=event is not None)
                if event is None:
                    result.unchanged.append(alert_id)
                    continue
                _append(con, alert_id, event, at=at, from_state=row["state"], to_state=state,
                        values=_values(alert, context))
                getattr(result, event).append(alert_id)

            for alert_id in sorted(set(known) - set(by_id)):
                row = known[alert_id]
                if row["state"] not in OPEN_STATES:
                    continue
                expired = row["state"] == "waived" and _waiver_expired(row, evaluation_day)
                event = "waiver_expired" if expired else "resolved"
                con.execute(
                    "update alerts set state = 'resolved', resolved_at = :at, last_changed = :at"
                    " where id = :id",
                    {"at": at, "id": alert_id},
                )
                values = {
                    "severity": row["severity"],
                    "observed": None,
                    "threshold": row["threshold"],
                    "gap": None,
                    **_provenance(context),
                }
                _append(con, alert_id, event, at=at, from_state=row["state"], to_state="resolved",
                        values=values)
                getattr(result, event).append(alert_id)
        return result

    # -- what supervisors do -----------------------------------------------------------------

    def acknowledge(self, alert_id: str, actor: str, comment: str) -> AlertRecord:
        """Someone has seen a firing alert and says what is being done. Acknowledging again
        adds a new comment to the history."""
        actor, comment = _required("actor", actor), _required("comment", comment)
        with self._transaction() as con:
            row = _open_row(con, alert_id, "acknowledge", ("firing", "acknowledged"))
            at = _timestamp(datetime.now(UTC))
            con.execute(
                "update alerts set state = 'acknowledged', acknowledged_by = :actor,"
                " acknowledged_at = :at, acknowledged_comment = :comment, last_changed = :at"
                " where id = :id",
                {"actor": actor, "at": at, "comment": comment, "id": alert_id},
            )
            _append(con, alert_id, "acknowledged", at=at, from_state=row["state"],
                    to_state="acknowledged", values=_row_values(row), actor=actor,
                    comment=comment)
        return self._require(alert_id)

    def waive(self, alert_id: str, actor: str, reason: str, until: date) -> AlertRecord:
        """Silence an alert through ``until`` (inclusive), for a stated reason. The next
        evaluation after that day fires it again if it is still breached."""
        actor, reason = _required("actor", actor), _required("reason", reason)
        now = datetime.now(UTC)
        if until <= now.date():
            raise AlertStateError(
                f"a waiver must end in the future: {until.isoformat()} is not after "
                f"{now.date().isoformat()} (UTC)"
            )
        with self._transaction() as con:
            row = _open_row(con, alert_id, "waive", ("firing", "acknowledged"))
            at = _timestamp(now)
            con.execute(
                "update alerts set state = 'waived', waived_by = :actor, waived_at = :at,"
                " waived_reason = :reason, waived_until = :until, last_changed = :at"
                " where id = :id",
                {"actor": actor, "at": at, "reason": reason, "until": until.isoformat(),
                 "id": alert_id},
            )
            _append(con, alert_id, "waived", at=at, from_state=row["state"], to_state="waived",
                    values=_row_values(row), actor=actor,
                    comment=f"{reason} (until {until.isoformat()})")
        return self._require(alert_id)

    # -- reading -----------------------------------------------------------------------------

    def get(self, alert_id: str) -> AlertRecord | None:
        with closing(self._connect()) as con:
            row = con.execute("select * from alerts where id = ?", (alert_id,)).fetchone()
        return None if row is None else _record(row)

    def list(
        self,
        profile: str | None = None,
        *,
        states: Collection[str] | None = None,
        severity: Severity | None = None,
        rule_id: str | None = None,
        policy_year: int | None = None,
        county_codes: Collection[str] | None = None,
    ) -> builtins.list[AlertRecord]:
        """Alerts matching every filter given, most severe first. ``county_codes`` matches the
        scope's county, so jurisdiction-wide alerts (no county) are left out by it."""
        for name, values in (("states", states), ("county_codes", county_codes)):
            if isinstance(values, str):
                raise TypeError(f"{name} takes a collection, not the string {values!r}")
        if states is not None and (unknown := set(states) - set(ALERT_STATES)):
            raise ValueError(f"unknown alert states {sorted(unknown)}; known: {ALERT_STATES}")
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        for column, value in (("profile", profile), ("severity", severity),
                              ("rule_id", rule_id), ("policy_year", policy_year)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        for column, values in (("state", states), ("county_code", county_codes)):
            if values is None:
                continue
            if not values:
                return []
            where.append(f"{column} in ({', '.join('?' * len(values))})")
            params.extend(values)
        sql = (
            "select * from alerts"
            + (" where " + " and ".join(where) if where else "")
            + " order by case severity when 'critical' then 0 when 'warning' then 1 else 2 end,"
            " profile, rule_id, policy_year, county_code, insurer_id, subsidy_group, id"
        )
        with closing(self._connect()) as con:
            return [_record(row) for row in con.execute(sql, params)]

    def history(self, alert_id: str) -> builtins.list[Transition]:
        with closing(self._connect()) as con:
            rows = con.execute(
                "select * from alert_history where alert_id = ? order by seq", (alert_id,)
            ).fetchall()
        return [_transition(row) for row in rows]

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        return sqlite_files.connect(self.path, foreign_keys=True)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_files.transaction(self.path, foreign_keys=True)

    def _require(self, alert_id: str) -> AlertRecord:
        record = self.get(alert_id)
        assert record is not None  # alerts are never deleted
        return record


# -- schema ------------------------------------------------------------------------------------




def _schema_version(con: sqlite3.Connection) -> int:
    return int(con.execute("pragma user_version").fetchone()[0])


def _migrate(con: sqlite3.Connection, path: Path) -> None:
    con.execute("begin immediate")
    try:
        # Another process may have migrated while this one waited for the lock.
        version = _schema_version(con)
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{path}: alert store schema version {version} is newer than this program's "
                f"({SCHEMA_VERSION}); upgrade hmb"
            )
        for statements in _MIGRATIONS[version:]:
            for statement in statements:
                con.execute(statement)
        # PRAGMA takes no bound parameters; the value is this module's own integer constant.
        con.execute(f"pragma user_version = {SCHEMA_VERSION:d}")
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


# -- sync helpers ------------------------------------------------------------------------------


def _next_for_breach(
    row: sqlite3.Row, alert: Alert, evaluation_day: date
) -> tuple[Event | None, AlertState]:
    """The event (None: nothing worth a history row) and the new state of a known alert that
    is breached in this evaluation."""
    state = cast(AlertState, row["state"])
    changed = _tracked(alert) != _tracked_row(row)
    if state == "resolved":
        return "refired", "firing"
    if state == "waived":
        if _waiver_expired(row, evaluation_day):
            return "waiver_expired", "firing"
        return ("updated" if changed else None), "waived"
    if state == "acknowledged" and SEVERITY_ORDER[alert.severity] < SEVERITY_ORDER[row["severity"]]:
        return "refired", "firing"
    return ("updated" if changed else None), state


def _waiver_expired(row: sqlite3.Row, evaluation_day: date) -> bool:
    return row["waived_until"] is not None and date.fromisoformat(row["waived_until"]) < (
        evaluation_day
    )


def _tracked(alert: Alert) -> tuple[Any, ...]:
    """What makes a re-evaluated alert worth a history row when it changes."""
    return (alert.severity, alert.observed, alert.threshold, alert.gap, alert.gap_unit)


def _tracked_row(row: sqlite3.Row) -> tuple[Any, ...]:
    return (row["severity"], row["observed"], row["threshold"], row["gap"], row["gap_unit"])


def _alert_columns(alert: Alert, context: EvaluationContext) -> dict[str, Any]:
    return {
        "id": alert.id,
        "profile": alert.profile,
        "rule_id": alert.rule_id,
        "severity": alert.severity,
        "scope": json.dumps(alert.scope.as_dict(), ensure_ascii=False, sort_keys=True),
        "policy_year": alert.scope.policy_year,
        "county_code": alert.scope.county_code,
        "insurer_id": alert.scope.insurer_id,
        "subsidy_group": alert.scope.subsidy_group,
        "observed": alert.observed,
        "threshold": alert.threshold,
        "gap": alert.gap,
        "gap_unit": alert.gap_unit,
        "message_zh": alert.message_zh,
        "message_en": alert.message_en,
        "citation": json.dumps(alert.citation.as_dict(), ensure_ascii=False, sort_keys=True),
        "projection": alert.projection,
        **_provenance(context),
    }


def _insert_alert(
    con: sqlite3.Connection, alert: Alert, context: EvaluationContext, at: str
) -> None:
    columns = {
        **_alert_columns(alert, context),
        "state": "firing",
        "first_seen": at,
        "last_seen": at,
        "last_changed": at,
    }
    names = ", ".join(columns)
    placeholders = ", ".join(f":{name}" for name in columns)
    con.execute(f"insert into alerts ({names}) values ({placeholders})", columns)


def _update_breached(
    con: sqlite3.Connection,
    row: sqlite3.Row,
    alert: Alert,
    context: EvaluationContext,
    *,
    at: str,
    state: AlertState,
    changed: bool,
) -> None:
    """Refresh a known alert with this evaluation's values; clear what belonged to an episode
    that has ended when it goes back to firing."""
    columns = {**_alert_columns(alert, context), "state": state, "last_seen": at}
    if changed:
        columns["last_changed"] = at
    if state == "firing" and row["state"] != "firing":
        columns |= dict.fromkeys(
            ("acknowledged_by", "acknowledged_at", "acknowledged_comment", "waived_by",
             "waived_at", "waived_reason", "waived_until", "resolved_at"),
        )
    assignments = ", ".join(f"{name} = :{name}" for name in columns if name != "id")
    con.execute(f"update alerts set {assignments} where id = :id", columns)


def _provenance(context: EvaluationContext) -> dict[str, Any]:
    return {
        "rulebook_version": context.rulebook_version,
        "data_fingerprint": context.data_fingerprint,
        "as_of": context.as_of.isoformat(),
    }


def _values(alert: Alert, context: EvaluationContext) -> dict[str, Any]:
    return {
        "severity": alert.severity,
        "observed": alert.observed,
        "threshold": alert.threshold,
        "gap": alert.gap,
        **_provenance(context),
    }


def _row_values(row: sqlite3.Row) -> dict[str, Any]:
    names = ("severity", "observed", "threshold", "gap", "rulebook_version", "data_fingerprint",
             "as_of")
    return {name: row[name] for name in names}


def _append(
    con: sqlite3.Connection,
    alert_id: str,
    event: Event,
    *,
    at: str,
    from_state: str | None,
    to_state: AlertState,
    values: dict[str, Any],
    actor: str = SYSTEM_ACTOR,
    comment: str | None = None,
) -> None:
    con.execute(
        "insert into alert_history (alert_id, at, event, from_state, to_state, actor, comment,"
        " severity, observed, threshold, gap, rulebook_version, data_fingerprint, as_of)"
        " values (:alert_id, :at, :event, :from_state, :to_state, :actor, :comment,"
        " :severity, :observed, :threshold, :gap, :rulebook_version, :data_fingerprint, :as_of)",
        {"alert_id": alert_id, "at": at, "event": event, "from_state": from_state,
         "to_state": to_state, "actor": actor, "comment": comment, **values},
    )


# -- action helpers ----------------------------------------------------------------------------


def _required(name: str, value: str) -> str:
    if not value or not value.strip():
        raise AlertStateError(f"{name} is required")
    return value.strip()


def _open_row(
    con: sqlite3.Connection, alert_id: str, action: str, allowed: tuple[AlertState, ...]
) -> sqlite3.Row:
    row: sqlite3.Row | None = con.execute(
        "select * from alerts where id = ?", (alert_id,)
    ).fetchone()
    if row is None:
        raise AlertStateError(f"cannot {action} alert {alert_id!r}: no such alert")
    if row["state"] not in allowed:
        raise AlertStateError(
            f"cannot {action} alert {alert_id} ({row['rule_id']}): it is {row['state']}; "
            f"only {' or '.join(allowed)} alerts can be {action}d"
        )
    return row


# -- conversions -------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _record(row: sqlite3.Row) -> AlertRecord:
    scope = json.loads(row["scope"])
    citation = json.loads(row["citation"])
    return AlertRecord(
        id=row["id"],
        profile=row["profile"],
        rule_id=row["rule_id"],
        severity=cast(Severity, row["severity"]),
        scope=Scope(**scope),
        state=cast(AlertState, row["state"]),
        observed=row["observed"],
        threshold=row["threshold"],
        gap=row["gap"],
        gap_unit=cast(GapUnit, row["gap_unit"]),
        message_zh=row["message_zh"],
        message_en=row["message_en"],
        citation=Citation(**citation),
        projection=row["projection"],
        first_seen=datetime.fromisoformat(row["first_seen"]),
        last_seen=datetime.fromisoformat(row["last_seen"]),
        last_changed=datetime.fromisoformat(row["last_changed"]),
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=_moment(row["acknowledged_at"]),
        acknowledged_comment=row["acknowledged_comment"],
        waived_by=row["waived_by"],
        waived_at=_moment(row["waived_at"]),
        waived_reason=row["waived_reason"],
        waived_until=_day(row["waived_until"]),
        resolved_at=_moment(row["resolved_at"]),
        rulebook_version=row["rulebook_version"],
        data_fingerprint=row["data_fingerprint"],
        as_of=date.fromisoformat(row["as_of"]),
    )


def _transition(row: sqlite3.Row) -> Transition:
    return Transition(
        seq=row["seq"],
        alert_id=row["alert_id"],
        at=datetime.fromisoformat(row["at"]),
        event=cast(Event, row["event"]),
        from_state=cast("AlertState | None", row["from_state"]),
        to_state=cast(AlertState, row["to_state"]),
        actor=row["actor"],
        comment=row["comment"],
        severity=cast(Severity, row["severity"]),
        observed=row["observed"],
        threshold=row["threshold"],
        gap=row["gap"],
        rulebook_version=row["rulebook_version"],
        data_fingerprint=row["data_fingerprint"],
        as_of=date.fromisoformat(row["as_of"]),
    )
