"""The product's own SQLite files (alert store, accounts, audit trail), opened one way.

Each file is shared by every browser session's thread and by command-line processes: it is kept
in WAL mode, connections wait on a busy file instead of failing, and every write runs inside
``BEGIN IMMEDIATE`` so that what a transaction reads is what it changes. Each is made readable by
its owner only, in a folder only its owner can enter (:func:`create_private`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from hmb.core.private_files import private_dir, private_file

BUSY_TIMEOUT_SECONDS = 15.0


def create_private(path: Path) -> None:
    """Make ``path`` (and its folder) private to the owner before SQLite opens it: SQLite gives
    its -wal, -shm and -journal files the database file's mode. One found with looser modes is
    tightened and said (hmb.core.private_files)."""
    private_dir(path.parent)
    found = path.exists()
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    private_file(path, found=found)


def connect(path: Path, *, foreign_keys: bool = False) -> sqlite3.Connection:
    """A connection with rows by name; ``isolation_level=None``: no implicit transactions,
    writes say BEGIN IMMEDIATE themselves (:func:`transaction`)."""
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    con.row_factory = sqlite3.Row
    if foreign_keys:
        con.execute("pragma foreign_keys = on")
    return con


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file (for checking it); the file must exist."""
    if not path.is_file():
        raise FileNotFoundError(path)
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                          timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    con.row_factory = sqlite3.Row
    return con


@contextmanager
def transaction(path: Path, *, foreign_keys: bool = False) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the write lock up front, so the state it reads is the
    state it changes (a deferred transaction could read, then fail to upgrade)."""
    with closing(connect(path, foreign_keys=foreign_keys)) as con:
        con.execute("begin immediate")
        try:
            yield con
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")


def enable_wal(con: sqlite3.Connection, path: Path) -> None:
    """Switch the file to WAL (persistent; a no-op once set).

    Changing the journal mode needs an exclusive lock and SQLite does not wait on its busy
    handler for it, so several sessions opening a brand-new file at the same moment retry here
    instead of failing with "database is locked".
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            mode = con.execute("pragma journal_mode = wal").fetchone()[0]
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    if str(mode).lower() != "wal":
        raise RuntimeError(f"{path}: SQLite refused WAL mode (got {mode!r})")
