"""The audit trail: who did what, when, and from where, in an append-only SQLite file.

Every sign-in and failed attempt, lockout and sign-out, page view (with its filters), download
and export (file name and rows), alert acknowledgement and waiver, and user-management command is
a row of ``audit_events`` in ``$HMB_STATE_DIR/audit.sqlite``. Each row is chained to the one before
by a SHA-256 hash (hmb.state.chain); triggers refuse UPDATE, DELETE and any INSERT that is not the
next link (so ``INSERT OR REPLACE`` too), and :meth:`AuditTrail.verify` (``hmb audit verify``) names
the first entry changed behind the triggers' back. The same house pattern as
hmb.state.alert_store: WAL, a short connection per call, ``BEGIN IMMEDIATE`` for writes, so the
dashboard's sessions and command-line runs can write at the same time.

A trail written before the chain existed is chained as it stands the first time it is opened,
and that is said once on standard error.

Times are UTC ISO strings with microseconds; ``details`` is a JSON object.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from hmb.core.private_files import private_file
from hmb.core.settings import settings
from hmb.state import chain, sqlite_files

Action = Literal[
    "sign_in", "sign_in_failed", "locked_out", "sign_out", "session_ended", "page_view",
    "download", "export", "alert_ack", "alert_waive", "alert_refused", "user_added",
    "password_reset", "user_unlocked", "user_disabled", "user_enabled", "demo_users_created",
]
ACTIONS: tuple[Action, ...] = get_args(Action)
UNKNOWN = "unknown"
FIELDS = ("seq", "at", "username", "role", "action", "details", "client_ip", "user_agent")

_SCHEMA = (
    """
    create table if not exists audit_events (
        seq        integer primary key autoincrement,
        at         text not null,
        username   text not null,
        role       text not null,
        action     text not null,
        details    text not null default '{}',
        client_ip  text not null default 'unknown',
        user_agent text not null default 'unknown',
        prev_hash  text,
        hash       text
    )
    """,
    "create index if not exists audit_events_by_time on audit_events (at)",
    *chain.append_only("audit_events"),
    *chain.triggers("audit_events"),
)


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as far as the server can tell."""

    client_ip: str = UNKNOWN
    user_agent: str = UNKNOWN


CLI_ORIGIN = Origin("localhost", "hmb command line")


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: datetime
    username: str
    role: str
    action: str
    details: dict[str, Any]
    client_ip: str
    user_agent: str

    def as_row(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at.isoformat(), "username": self.username,
                "role": self.role, "action": self.action,
                "details": json.dumps(self.details, ensure_ascii=False, sort_keys=True),
                "client_ip": self.client_ip, "user_agent": self.user_agent}


def default_audit_store() -> Path:
    return settings().state_dir / "audit.sqlite"


def _now() -> datetime:
    return datetime.now(UTC)


class AuditTrail:
    """The append-only trail in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path | None = None, *,
                 clock: Callable[[], datetime] = _now) -> None:
        self.path = Path(path) if path is not None else default_audit_store()
        self.clock = clock
        sqlite_files.create_private(self.path)
        with closing(self._connect()) as con:
            sqlite_files.enable_wal(con, self.path)
        with self._transaction() as con:
            exists = con.execute(
                "select 1 from sqlite_master where type = 'table' and name = 'audit_events'"
            ).fetchone()
            chained = 0
            if exists and not chain.has_chain(con, "audit_events"):
                chained = _chain_unchained(con)
            for statement in _SCHEMA:
                con.execute(statement)
        if chained:
            print(
                f"hmb: {self.path}: 审计日志的 {chained} 条既有记录已按现状建立哈希链，"
                f"此后的任何改动都会被 `hmb audit verify` 发现。 Chained the {chained} existing"
                " entries of audit_events as they stand: from now on `hmb audit verify` finds any"
                " change to them.",
                file=sys.stderr,
            )

    def record(
        self,
        action: Action,
        username: str,
        role: str | None,
        details: Mapping[str, Any] | None = None,
        origin: Origin = Origin(),
    ) -> AuditEvent:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        at = self.clock().astimezone(UTC)
        text = json.dumps(dict(details or {}), ensure_ascii=False, sort_keys=True, default=str)
        with self._transaction() as con:
            seq = chain.append(con, "audit_events", {
                "at": at.isoformat(timespec="microseconds"),
                "username": username or UNKNOWN,
                "role": role or UNKNOWN,
                "action": action,
                "details": text,
                "client_ip": origin.client_ip or UNKNOWN,
                "user_agent": origin.user_agent or UNKNOWN,
            })
        return AuditEvent(seq, at, username or UNKNOWN, role or UNKNOWN, action,
                          json.loads(text), origin.client_ip or UNKNOWN,
                          origin.user_agent or UNKNOWN)

    def read(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        username: str | None = None,
        actions: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Events in order of writing, filtered; ``limit`` keeps the latest ones."""
        where, params = [], []
        if since is not None:
            where.append("at >= ?")
            params.append(since.astimezone(UTC).isoformat(timespec="microseconds"))
        if until is not None:
            where.append("at < ?")
            params.append(until.astimezone(UTC).isoformat(timespec="microseconds"))
        if username:
            where.append("username = ?")
            params.append(username)
        if actions is not None:
            if not actions:
                return []
            where.append(f"action in ({', '.join('?' for _ in actions)})")
            params.extend(actions)
        sql = "select * from audit_events"
        if where:
            sql += " where " + " and ".join(where)
        sql += " order by seq desc"
        if limit is not None:
            sql += f" limit {int(limit)}"
        with closing(self._connect()) as con:
            rows = con.execute(sql, params).fetchall()
        return [_event(row) for row in reversed(rows)]

    def verify(self) -> chain.Verification:
        """The chain checked from the first entry to the last (read-only)."""
        return verify_trail(self.path)

    def _connect(self) -> sqlite3.Connection:
        return sqlite_files.connect(self.path)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_files.transaction(self.path)


def verify_trail(path: Path) -> chain.Verification:
    """Check the chain of the trail in ``path`` without changing the file (an unchained trail,
    never opened by this version, is reported as such)."""
    with closing(sqlite_files.connect_read_only(path)) as con:
        if not chain.has_chain(con, "audit_events"):
            return chain.Verification("audit_events", 0, None, chain.GENESIS, chain.Problem(
                "audit_events", "1", None,
                "尚未建立哈希链：先用本版本打开一次。 Not chained yet: written by an earlier"
                " version; any `hmb audit` command chains it as it stands."))
        return chain.verify(con, "audit_events", FIELDS)


def _chain_unchained(con: sqlite3.Connection) -> int:
    """Chain a trail written before the chain (inside the opening transaction)."""
    con.execute("drop trigger if exists audit_events_append_only_update")
    for column in chain.CHAIN_COLUMNS:
        con.execute(f"alter table audit_events add column {column} text")
    return chain.chain_existing(con, "audit_events", FIELDS)


def to_csv(events: list[AuditEvent]) -> str:
    """The events as CSV (one row each, ``details`` as JSON text)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)
    writer.writeheader()
    for event in events:
        writer.writerow(event.as_row())
    return buffer.getvalue()


def export_csv(events: list[AuditEvent], out: Path) -> int:
    """Write the events to ``out`` (UTF-8 with a byte-order mark, for Excel); the row count."""
    out.write_text("\ufeff" + to_csv(events), encoding="utf-8")
    private_file(out)
    return len(events)


def _event(row: sqlite3.Row) -> AuditEvent:
    return AuditEvent(
        seq=int(row["seq"]),
        at=datetime.fromisoformat(row["at"]),
        username=row["username"],
        role=row["role"],
        action=row["action"],
        details=json.loads(row["details"]),
        client_ip=row["client_ip"],
        user_agent=row["user_agent"],
    )
