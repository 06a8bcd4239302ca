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

The history is evidence, and so is the list of evaluations recorded (``evaluations``): each row of
both is chained to the one before by a SHA-256 hash (hmb.state.chain), and triggers refuse UPDATE,
DELETE and any INSERT that is not the next link, ``INSERT OR REPLACE`` included. ``alerts`` holds
the current state and is updated in place; :func:`verify_store` checks that it says what its
history ends in (state, severity, who acknowledged or waived), so an edit there is found too.

Recording is monotone and happens once: an evaluation whose as-of date is earlier than one already
recorded for the profile is refused (:class:`StaleEvaluation`), so a backdated run cannot resolve,
re-fire or drop acknowledgements recorded later; an evaluation already recorded (same profile,
rulebook version, data fingerprint and as-of date) changes nothing but the waivers whose day has
passed, which the calendar ends, not the data.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import sys
from collections.abc import Callable, Collection, Sequence
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
from hmb.state import chain, sqlite_files

Event = Literal[
    "fired", "updated", "acknowledged", "waived", "waiver_expired", "resolved", "refired"
]

OPEN_STATES: tuple[AlertState, ...] = ("firing", "acknowledged", "waived")
SYSTEM_ACTOR = "system"
SCHEMA_VERSION = 2

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

HISTORY_COLUMNS = (
    "seq", "alert_id", "at", "event", "from_state", "to_state", "actor", "comment", "severity",
    "observed", "threshold", "gap", "rulebook_version", "data_fingerprint", "as_of",
)
EVALUATION_COLUMNS = ("seq", "at", "profile", "rulebook_version", "data_fingerprint", "as_of")

_EVALUATIONS_TABLE = """
create table evaluations (
    seq              integer primary key autoincrement,
    at               text not null,  -- when the evaluation was recorded
    profile          text not null,
    rulebook_version text not null,
    data_fingerprint text not null,
    as_of            text not null,
    prev_hash        text not null,
    hash             text not null
)
"""

_FIRST_SCHEMA: tuple[str, ...] = (
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
)

_HISTORY_UPDATE_TRIGGER = _FIRST_SCHEMA[-2]

_CHAINED_SCHEMA: tuple[str, ...] = (
    *chain.triggers("alert_history"),
    _EVALUATIONS_TABLE,
    "create index evaluations_by_profile on evaluations (profile, as_of)",
    *chain.append_only("evaluations"),
    *chain.triggers("evaluations"),
    """
    create trigger alerts_are_never_deleted before delete on alerts
    begin select raise(abort, 'alerts are never deleted'); end
    """,
)


def _first_schema(con: sqlite3.Connection) -> int:
    for statement in _FIRST_SCHEMA:
        con.execute(statement)
    return 0


def _chained_history(con: sqlite3.Connection) -> int:
    """Version 2: the history chained by hashes (its rows so far chained as they stand), the
    evaluations recorded, alerts never deleted. The number of history rows chained."""
    con.execute("drop trigger alert_history_is_append_only_update")
    for column in chain.CHAIN_COLUMNS:
        con.execute(f"alter table alert_history add column {column} text")
    chained = chain.chain_existing(con, "alert_history", HISTORY_COLUMNS)
    con.execute(_HISTORY_UPDATE_TRIGGER)
    for statement in _CHAINED_SCHEMA:
        con.execute(statement)
    return chained


# One step per schema version: _MIGRATIONS[v] upgrades version v to v + 1 and returns how many
# existing entries it chained.
_MIGRATIONS: tuple[Callable[[sqlite3.Connection], int], ...] = (_first_schema, _chained_history)
assert len(_MIGRATIONS) == SCHEMA_VERSION


class AlertStateError(ValueError):
    """An action the alert's lifecycle does not allow, or one missing what it needs."""


class StaleEvaluation(AlertStateError):
    """An evaluation as of a day earlier than one already recorded for the profile."""

    def __init__(self, profile: str, latest: date, as_of: date) -> None:
        self.profile, self.latest, self.as_of = profile, latest, as_of
        super().__init__(
            f"告警库已记录 {profile} 截至 {latest.isoformat()} 的评估，不能再记录更早的"
            f" {as_of.isoformat()}（否则会关闭、重新触发之后记录的预警或丢失其确认）。"
            f" The alert store already holds an evaluation of {profile} as of"
            f" {latest.isoformat()}: one as of {as_of.isoformat()} cannot be recorded (it would"
            " resolve or re-fire alerts recorded later and drop their acknowledgements). Look at"
            " the earlier picture without --record."
        )


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
    repeated: bool = False  # this evaluation was recorded before: only waivers may have expired


class AlertStore:
    """The alerts of every profile, in one SQLite file. Safe to share between threads and to
    open from several processes at once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        sqlite_files.create_private(self.path)
        with closing(self._connect()) as con:
            sqlite_files.enable_wal(con, self.path)
            if _schema_version(con) != SCHEMA_VERSION:
                chained = _migrate(con, self.path)
                if chained:
                    print(
                        f"hmb: {self.path}: 预警历史的 {chained} 条既有记录已按现状建立哈希链，此后"
                        f"的任何改动都会被 `hmb audit verify` 发现。 Chained the {chained} existing"
                        " entries of alert_history as they stand: from now on `hmb audit verify`"
                        " finds any change to them.",
                        file=sys.stderr,
                    )

    # -- evaluation --------------------------------------------------------------------------

    def sync(self, alerts: Sequence[Alert], context: EvaluationContext) -> SyncResult:
        """Record one evaluation of ``context.profile``: ``alerts`` is everything breached now.

        An alert already known with the same values adds no history (only its ``last_seen`` and
        provenance move on); a waiver whose day has passed expires; alerts of the profile that
        are open but absent from ``alerts`` are resolved. One transaction, all or nothing.

        An as-of date earlier than the profile's latest recorded one raises
        :class:`StaleEvaluation` and changes nothing; an evaluation recorded before changes
        nothing but expired waivers (``repeated`` in the result).
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
        with self._transaction() as con:
            latest = _latest_as_of(con, context.profile)
            if latest is not None and context.as_of < latest:
                raise StaleEvaluation(context.profile, latest, context.as_of)
            repeated = _recorded(con, context)
            result = SyncResult(repeated=repeated)
            known = {
                row["id"]: row
                for row in con.execute(
                    "select * from alerts where profile = ?", (context.profile,)
                )
            }
            for alert_id, alert in by_id.items():
                row = known.get(alert_id)
                if repeated and not _waiver_over(row, evaluation_day):
                    if row is not None:
                        result.unchanged.append(alert_id)
                    continue
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
                if row["state"] not in OPEN_STATES or (
                    repeated and not _waiver_over(row, evaluation_day)
                ):
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
            if not repeated:
                chain.append(con, "evaluations", {"at": at, "profile": context.profile,
                                                  **_provenance(context)})
        return result

    def latest_as_of(self, profile: str) -> date | None:
        """The as-of date of the latest evaluation recorded for ``profile`` (None: none yet);
        an earlier one cannot be recorded."""
        with closing(self._connect()) as con:
            return _latest_as_of(con, profile)

    def open_critical(self, profile: str) -> frozenset[str]:
        """The ids of the profile's open alerts that are critical: those a rule's recovery
        threshold keeps critical until the value passes it (hmb.judge.rules.classify). A warning
        is never promoted by it."""
        with closing(self._connect()) as con:
            rows = con.execute(
                "select id from alerts where profile = ? and severity = 'critical'"
                f" and state in ({', '.join('?' * len(OPEN_STATES))})",
                (profile, *OPEN_STATES),
            ).fetchall()
        return frozenset(row["id"] for row in rows)

    def verify(self) -> builtins.list[chain.Verification]:
        """The history's and the evaluations' chains, and the alerts against their history."""
        return verify_store(self.path)

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


def _migrate(con: sqlite3.Connection, path: Path) -> int:
    """Upgrade the file to this version's schema; how many existing entries were chained."""
    chained = 0
    con.execute("begin immediate")
    try:
        # Another process may have migrated while this one waited for the lock.
        version = _schema_version(con)
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{path}: alert store schema version {version} is newer than this program's "
                f"({SCHEMA_VERSION}); upgrade hmb"
            )
        for step in _MIGRATIONS[version:]:
            chained += step(con)
        # PRAGMA takes no bound parameters; the value is this module's own integer constant.
        con.execute(f"pragma user_version = {SCHEMA_VERSION:d}")
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
    return chained


def _latest_as_of(con: sqlite3.Connection, profile: str) -> date | None:
    """The latest as-of date recorded for the profile: in its evaluations, or, for a store
    written before they were kept and not recorded into since, in its alerts and their history
    (every later evaluation is at least as late as those)."""
    row = con.execute(
        "select coalesce((select max(as_of) from evaluations where profile = :p),"
        " (select max(as_of) from ("
        "  select as_of from alerts where profile = :p"
        "  union all select h.as_of from alert_history h join alerts a on a.id = h.alert_id"
        "  where a.profile = :p)))",
        {"p": profile},
    ).fetchone()
    return None if row[0] is None else date.fromisoformat(row[0])


def _recorded(con: sqlite3.Connection, context: EvaluationContext) -> bool:
    return con.execute(
        "select 1 from evaluations where profile = :profile and rulebook_version ="
        " :rulebook_version and data_fingerprint = :data_fingerprint and as_of = :as_of",
        {"profile": context.profile, **_provenance(context)},
    ).fetchone() is not None


def _waiver_over(row: sqlite3.Row | None, evaluation_day: date) -> bool:
    return row is not None and row["state"] == "waived" and _waiver_expired(row, evaluation_day)


# -- verifying ---------------------------------------------------------------------------------


def verify_store(path: Path) -> builtins.list[chain.Verification]:
    """Check the store in ``path`` without changing it: the chains of ``alert_history`` and
    ``evaluations``, then every alert against the history it ends in."""
    with closing(sqlite_files.connect_read_only(path)) as con:
        if _schema_version(con) < SCHEMA_VERSION:
            return [chain.Verification("alert_history", 0, None, chain.GENESIS, chain.Problem(
                "alert_history", "1", None,
                "尚未建立哈希链：先用本版本打开一次。 Not chained yet: written by an earlier"
                " version; any `hmb check --record` or `hmb alerts` command chains it as it"
                " stands."))]
        return [chain.verify(con, "alert_history", HISTORY_COLUMNS),
                chain.verify(con, "evaluations", EVALUATION_COLUMNS),
                _verify_alerts(con)]


def _verify_alerts(con: sqlite3.Connection) -> chain.Verification:
    """Each alert's current state, severity, last change, acknowledgement and waiver must be
    those its history ends in; a history without its alert means the alert was removed."""
    history: dict[str, builtins.list[sqlite3.Row]] = {}
    for row in con.execute("select * from alert_history order by seq"):
        history.setdefault(row["alert_id"], []).append(row)
    alerts = {row["id"]: row for row in con.execute("select * from alerts order by id")}
    for alert_id, rows in history.items():
        if alert_id not in alerts:
            return _alerts_problem(len(alerts), alert_id, rows[-1]["at"],
                                   "有历史记录而预警本身已被删除。 Has a history, but the alert"
                                   " itself was removed.")
    for alert_id, row in alerts.items():
        reason = _disagreement(row, history.get(alert_id, []))
        if reason is not None:
            return _alerts_problem(len(alerts), alert_id, row["last_changed"], reason)
    return chain.Verification("alerts", len(alerts), None, "", None)


def _disagreement(row: sqlite3.Row, history: builtins.list[sqlite3.Row]) -> str | None:
    """What in the alert's row its history does not say, if anything."""
    if not history:
        return "没有任何历史记录。 Has no history at all."
    last = history[-1]
    for column, recorded in (("state", "to_state"), ("severity", "severity"),
                             ("last_changed", "at")):
        if row[column] != last[recorded]:
            return (f"{column} 为 {row[column]!r}，而历史记录止于 {last[recorded]!r}。 Its {column}"
                    f" is {row[column]!r}, but its history ends in {last[recorded]!r}.")
    for state, event, columns, said in (
        ("acknowledged", "acknowledged",
         ("acknowledged_by", "acknowledged_at", "acknowledged_comment"), _said_acknowledged),
        ("waived", "waived", ("waived_by", "waived_at", "waived_reason"), _said_waived),
    ):
        if row["state"] != state and row[columns[0]] is None:
            continue
        actions = [h for h in history if h["event"] == event]
        if not actions or said(row) != (actions[-1]["actor"], actions[-1]["at"],
                                        actions[-1]["comment"]):
            return (f"{columns[0]} 等与历史记录中的{event}不符。 Its {', '.join(columns)} are not"
                    f" those of the last {event} row of its history.")
    return None


def _said_acknowledged(row: sqlite3.Row) -> tuple[Any, ...]:
    return row["acknowledged_by"], row["acknowledged_at"], row["acknowledged_comment"]


def _said_waived(row: sqlite3.Row) -> tuple[Any, ...]:
    reason = f"{row['waived_reason']} (until {row['waived_until']})"
    return row["waived_by"], row["waived_at"], reason


def _alerts_problem(count: int, alert_id: str, at: str | None, reason: str) -> chain.Verification:
    return chain.Verification("alerts", count, None, "",
                              chain.Problem("alerts", alert_id, at, reason))


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
    fields = {"alert_id": alert_id, "at": at, "event": event, "from_state": from_state,
              "to_state": to_state, "actor": actor, "comment": comment, **values}
    # Stored as SQLite gives them back (REAL columns), so that the hash is of what is read.
    for name in ("observed", "threshold", "gap"):
        if fields[name] is not None:
            fields[name] = float(fields[name])
    chain.append(con, "alert_history", fields)


# -- action helpers ----------------------------------------------------------------------------


# Characters of an actor's name, a comment or a waiver's reason the store keeps: bounded, so that
# no caller (a page, the command line, a script) can fill the history with one entry.
MAX_ACTOR_LENGTH = 64
MAX_COMMENT_LENGTH = 2000


def _required(name: str, value: str) -> str:
    if not value or not value.strip():
        raise AlertStateError(f"{name} is required")
    limit = MAX_ACTOR_LENGTH if name == "actor" else MAX_COMMENT_LENGTH
    if len(value.strip()) > limit:
        raise AlertStateError(
            f"{name} 过长：{len(value.strip())} 个字符，最多 {limit} 个。"
            f" The {name} is {len(value.strip())} characters long; at most {limit} are kept."
        )
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
