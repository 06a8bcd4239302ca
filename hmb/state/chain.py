"""Hash chains for the product's append-only tables: the audit trail, the alert history and the
evaluations recorded in the alert store.

Each entry stores ``prev_hash``, the hash of the entry before it (:data:`GENESIS` for the first),
and ``hash`` = SHA-256 of ``prev_hash`` followed by a canonical serialisation of the entry's own
columns (:func:`canonical`: JSON with sorted keys, no spaces, UTF-8). Changing, removing,
reordering or inserting an entry anywhere but at the end breaks the chain at that entry, and
:func:`verify` names it.

Triggers make the tables append-only inside SQLite: UPDATE and DELETE are refused, and so is an
INSERT whose ``seq`` is not the last one plus one or whose ``prev_hash`` is not the last entry's
hash. That also refuses ``INSERT OR REPLACE``: a REPLACE only replaces on a conflict of ``seq``,
the primary key, and a row with a ``seq`` already taken is never the next one. (SQLite does not
fire DELETE triggers for the rows a REPLACE removes unless ``recursive_triggers`` is on, so the
DELETE trigger alone would not stop it.)

Whoever can write the file can also drop the triggers; what they change then is found by
:func:`verify` (``hmb audit verify``). A chain computed afresh over rewritten entries is
consistent in itself: the head hash printed by ``hmb audit verify``, kept somewhere the same
person cannot write, is what proves a later copy still starts with the same entries
(docs/access.md).
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
CHAIN_COLUMNS = ("prev_hash", "hash")


@dataclass(frozen=True)
class Problem:
    """The first entry of a table that is not as it was written, and why."""

    table: str
    entry: str  # the entry's seq (an alert's id in the table ``alerts``)
    at: str | None  # the entry's own time, as stored
    reason: str

    def message(self) -> str:
        when = f" ({_shown_time(self.at)})" if self.at else ""
        return f"{self.table} #{self.entry}{when}: {self.reason}"


@dataclass(frozen=True)
class Verification:
    """One table checked: how many entries, the last one's seq and hash, the first problem."""

    table: str
    entries: int
    head_seq: int | None
    head: str
    problem: Problem | None

    @property
    def intact(self) -> bool:
        return self.problem is None


def canonical(fields: Mapping[str, Any]) -> str:
    """The entry's columns as one string: JSON, keys sorted, no spaces, floats as Python's
    shortest round-trip form (exactly what SQLite gives back for a REAL)."""
    return json.dumps({name: _plain(value) for name, value in fields.items()},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(fields)).encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # SQLite stores NaN as NULL
    return value


def append_only(table: str) -> tuple[str, ...]:
    """The statements that refuse any UPDATE or DELETE of ``table``'s rows: once written, an
    entry can be neither changed nor removed."""
    return tuple(
        f"""
        create trigger if not exists {table}_append_only_{verb} before {verb} on {table}
        begin select raise(abort, '{table} is append-only'); end
        """
        for verb in ("update", "delete")
    )


def triggers(table: str) -> tuple[str, ...]:
    """The statements that make ``table`` (with ``seq``, ``prev_hash`` and ``hash``) accept a
    new entry only at the end of its chain. The UPDATE and DELETE triggers each table already
    had keep their names."""
    return (
        f"""
        create trigger if not exists {table}_chained_insert before insert on {table}
        begin
            select raise(abort, '{table} is append-only: a new entry must follow the last one')
            where new.seq is not (select coalesce(max(seq), 0) + 1 from {table})
               or new.prev_hash is not coalesce(
                      (select hash from {table} order by seq desc limit 1), '{GENESIS}')
               or new.hash is null or length(new.hash) != 64;
        end
        """,
    )


def append(con: sqlite3.Connection, table: str, fields: Mapping[str, Any]) -> int:
    """Insert one entry at the end of ``table``'s chain (inside the caller's write transaction,
    so that no other writer comes between reading the last entry and appending); its seq."""
    last = con.execute(f"select seq, hash from {table} order by seq desc limit 1").fetchone()
    seq = 1 if last is None else int(last[0]) + 1
    prev = GENESIS if last is None else str(last[1])
    row = {"seq": seq, **fields, "prev_hash": prev}
    row["hash"] = entry_hash(prev, row)
    names = ", ".join(row)
    con.execute(f"insert into {table} ({names}) values ({', '.join('?' * len(row))})",
                tuple(row.values()))
    return seq


def chain_existing(con: sqlite3.Connection, table: str, columns: Sequence[str]) -> int:
    """Give the rows of a table written before the chain their ``prev_hash`` and ``hash``, in
    seq order (a migration: the caller has added the columns and lifted the UPDATE trigger).
    The number of rows chained."""
    prev = GENESIS
    rows = con.execute(f"select {', '.join(columns)} from {table} order by seq").fetchall()
    for row in rows:
        fields = {**dict(zip(columns, tuple(row), strict=True)), "prev_hash": prev}
        digest = entry_hash(prev, fields)
        con.execute(f"update {table} set prev_hash = ?, hash = ? where seq = ?",
                    (prev, digest, fields["seq"]))
        prev = digest
    return len(rows)


def verify(con: sqlite3.Connection, table: str, columns: Sequence[str]) -> Verification:
    """Walk the chain of ``table`` in seq order; the first entry that does not hash to what it
    stores, or does not link to the entry before it, is the problem."""
    names = ", ".join((*columns, *CHAIN_COLUMNS))
    prev, count, head_seq = GENESIS, 0, None
    for row in con.execute(f"select {names} from {table} order by seq"):
        values = tuple(row)
        fields = dict(zip(columns, values[:len(columns)], strict=True))
        stored_prev, stored_hash = values[len(columns):]
        fields["prev_hash"] = stored_prev
        at = fields.get("at")
        problem = None
        if stored_prev != prev:
            problem = (
                "不接在前一条之后：其前有记录被删除、插入或替换。 Not linked to the entry before"
                " it: an entry before it was removed, inserted or replaced."
            )
        elif stored_hash != entry_hash(stored_prev, fields):
            problem = (
                "内容与写入时不符：已被改动。 Its content is not what was written: the entry was"
                " altered."
            )
        if problem is not None:
            return Verification(table, count, head_seq, prev,
                                Problem(table, str(fields["seq"]), _text(at), problem))
        prev, count, head_seq = str(stored_hash), count + 1, int(fields["seq"])
    return Verification(table, count, head_seq, prev, None)


def has_chain(con: sqlite3.Connection, table: str) -> bool:
    return "hash" in {row[1] for row in con.execute(f"pragma table_info({table})")}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _shown_time(at: str) -> str:
    """``2026-11-23T08:00:00.000000+00:00`` as ``2026-11-23 08:00:00 UTC`` (anything else, as
    stored)."""
    if not at.endswith("+00:00"):
        return at
    return at.removesuffix("+00:00").replace("T", " ").partition(".")[0] + " UTC"
