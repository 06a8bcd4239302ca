"""The export register: every export ingested (contract §8), accepted or refused, who brought
it and when, in an append-only SQLite file (``$HMB_STATE_DIR/exports.sqlite``).

:func:`ingest` validates an export once, on arrival: it builds (or finds) the validated store of
hmb.ingest.dataset, writes the quarantine, applies the quarantine limit
(hmb.ingest.quarantine_limit) and registers the result. The newest accepted export of a profile
is its *current* export: what ``hmb exports`` marks, and what the app shows. A refused export is
registered as refused and leaves the current one in place.

Ingesting the files of the current export again (same folder, same fingerprint) registers
nothing: it is the export already current, and ``ingest`` says so (``unchanged``). Ingesting an
export refused last time, unchanged, is refused again and registers nothing either. An earlier
export brought back (its files as they were) is registered again and becomes current.

The register is evidence, kept like the audit trail (hmb.state.audit): each row is chained to
the one before by a SHA-256 hash (hmb.state.chain), triggers refuse UPDATE, DELETE and any
INSERT that is not the next link, and :func:`verify_register` names the first entry changed
behind their back. The file and its folder are the owner's only (0600 / 0700,
hmb.state.sqlite_files). Times are UTC ISO strings with microseconds; they are shown in China
Standard Time (:func:`shown_time`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from hmb.core import duckdb_files
from hmb.core.settings import settings
from hmb.ingest import quarantine_limit
from hmb.ingest.dataset import (
    Dataset,
    default_quarantine_dir,
    mark_used,
    open_dataset,
    write_quarantine,
)
from hmb.ingest.loading import InputError, Problem
from hmb.state import chain, sqlite_files

Result = Literal["accepted", "refused"]
Outcome = Literal["accepted", "refused", "unchanged"]
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
FIELDS = ("seq", "at", "profile", "folder", "fingerprint", "result", "tables", "by_user", "via",
          "details")
COUNTS = ("rows_read", "rows_accepted", "rows_quarantined")

_SCHEMA = (
    """
    create table if not exists exports (
        seq         integer primary key autoincrement,
        at          text not null,
        profile     text not null,
        folder      text not null,
        fingerprint text not null,
        result      text not null check (result in ('accepted', 'refused')),
        tables      text not null,
        by_user     text not null,
        via         text not null,
        details     text not null default '{}',
        prev_hash   text,
        hash        text
    )
    """,
    "create index if not exists exports_by_profile on exports (profile, seq)",
    *chain.append_only("exports"),
    *chain.triggers("exports"),
)


def default_register() -> Path:
    return settings().state_dir / "exports.sqlite"


def exports_registered(path: Path | None = None) -> bool:
    """Whether any export was ever accepted into the register (real data is in the product:
    the demo accounts are refused, as while HMB_DATA_DIR is set). Creates no file."""
    path = path or default_register()
    if not path.is_file():
        return False
    with closing(sqlite_files.connect_read_only(path)) as con:
        exists = con.execute("select 1 from sqlite_master where name = 'exports'").fetchone()
        return bool(exists) and con.execute(
            "select 1 from exports where result = 'accepted' limit 1").fetchone() is not None


def shown_time(at: datetime) -> str:
    """A time as the register shows it: China Standard Time, to the second."""
    return at.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M:%S CST")


@dataclass(frozen=True)
class ExportEntry:
    """One registered export: ``id`` is its place in the register (1, 2, ...)."""

    id: int
    at: datetime
    profile: str
    folder: str
    fingerprint: str
    result: Result
    tables: dict[str, dict[str, int]]
    by: str
    via: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Path | None:
        value = self.details.get("store")
        return Path(value) if value else None

    @property
    def ingested_at_cst(self) -> str:
        return shown_time(self.at)

    def as_json(self, current: bool = False) -> dict[str, Any]:
        return {
            "id": self.id,
            "profile": self.profile,
            "folder": self.folder,
            "fingerprint": self.fingerprint,
            "ingested_at": self.at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "ingested_at_cst": self.ingested_at_cst,
            "result": self.result,
            "current": current,
            "by": self.by,
            "via": self.via,
            "tables": self.tables,
            **{k: v for k, v in self.details.items() if k != "store"},
        }


def _now() -> datetime:
    return datetime.now(UTC)


class ExportRegister:
    """The register in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path | None = None, *,
                 clock: Callable[[], datetime] = _now) -> None:
        self.path = Path(path) if path is not None else default_register()
        self.clock = clock
        sqlite_files.create_private(self.path)
        with closing(sqlite_files.connect(self.path)) as con:
            sqlite_files.enable_wal(con, self.path)
        with self._transaction() as con:
            for statement in _SCHEMA:
                con.execute(statement)

    def record(
        self,
        *,
        profile: str,
        folder: Path | str,
        fingerprint: str,
        result: Result,
        tables: dict[str, dict[str, int]],
        by: str,
        via: str,
        details: dict[str, Any] | None = None,
    ) -> ExportEntry:
        at = self.clock().astimezone(UTC)
        row = {
            "at": at.isoformat(timespec="microseconds"),
            "profile": profile,
            "folder": str(folder),
            "fingerprint": fingerprint,
            "result": result,
            "tables": json.dumps(tables, sort_keys=True),
            "by_user": by or "unknown",
            "via": via,
            "details": json.dumps(details or {}, ensure_ascii=False, sort_keys=True,
                                  default=str),
        }
        with self._transaction() as con:
            seq = chain.append(con, "exports", row)
        return _entry({"seq": seq, **row})

    def entries(self, profile: str | None = None) -> list[ExportEntry]:
        """Every entry, oldest first (of one profile when given)."""
        sql, params = "select * from exports", tuple[str, ...]()
        if profile is not None:
            sql, params = sql + " where profile = ?", (profile,)
        with closing(sqlite_files.connect(self.path)) as con:
            rows = con.execute(sql + " order by seq", params).fetchall()
        return [_entry(dict(row)) for row in rows]

    def get(self, export_id: int) -> ExportEntry | None:
        with closing(sqlite_files.connect(self.path)) as con:
            row = con.execute("select * from exports where seq = ?", (export_id,)).fetchone()
        return None if row is None else _entry(dict(row))

    def current(self, profile: str) -> ExportEntry | None:
        """The profile's newest accepted export."""
        accepted = [e for e in self.entries(profile) if e.result == "accepted"]
        return accepted[-1] if accepted else None

    def previous(self, entry: ExportEntry) -> ExportEntry | None:
        """The accepted export of the same profile registered before ``entry`` with other
        data (what "since the last export" compares with)."""
        earlier = [e for e in self.entries(entry.profile)
                   if e.result == "accepted" and e.id < entry.id
                   and e.fingerprint != entry.fingerprint]
        return earlier[-1] if earlier else None

    def latest(self, profile: str) -> ExportEntry | None:
        entries = self.entries(profile)
        return entries[-1] if entries else None

    def profiles(self) -> list[str]:
        with closing(sqlite_files.connect(self.path)) as con:
            return [r[0] for r in con.execute(
                "select distinct profile from exports where result = 'accepted'"
                " order by profile")]

    def verify(self) -> chain.Verification:
        return verify_register(self.path)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_files.transaction(self.path)


def verify_register(path: Path) -> chain.Verification:
    """The register's chain checked from the first entry to the last (read-only)."""
    with closing(sqlite_files.connect_read_only(path)) as con:
        return chain.verify(con, "exports", FIELDS)


def _entry(row: dict[str, Any]) -> ExportEntry:
    return ExportEntry(
        id=int(row["seq"]),
        at=datetime.fromisoformat(row["at"]),
        profile=row["profile"],
        folder=row["folder"],
        fingerprint=row["fingerprint"],
        result=row["result"],
        tables=json.loads(row["tables"]),
        by=row["by_user"],
        via=row["via"],
        details=json.loads(row["details"]),
    )


# --- ingest -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ingested:
    """What :func:`ingest` did: ``entry`` is the entry registered, or the one found unchanged."""

    outcome: Outcome
    entry: ExportEntry
    problems: tuple[Problem, ...] = ()
    dataset: Dataset | None = None
    registered: bool = True


def ingest(
    folder: Path,
    profile: str,
    liability_codes: frozenset[str] | None,
    *,
    by: str,
    via: str = "cli",
    share: float | None = None,
    register: ExportRegister | None = None,
    rulebook: Path | None = None,
    insured_elsewhere: str | None = None,
    jurisdiction: Callable[[Dataset], None] | None = None,
) -> Ingested:
    """Validate ``folder`` once (or find its store), write its quarantine, apply the limit and
    register the export; a refusal (a fatal problem or the limit) is registered as refused."""
    register = register or ExportRegister()
    share = quarantine_limit.DEFAULT_SHARE if share is None else share
    place = str(Path(folder).resolve())
    try:
        dataset = open_dataset(Path(folder), liability_codes,
                               insured_elsewhere=insured_elsewhere)
        if jurisdiction is not None:
            jurisdiction(dataset)  # another jurisdiction's data is refused (InputError)
    except InputError as exc:
        return _refused(register, profile, place, "", tables={}, problems=exc.problems, by=by,
                        via=via, details={})
    tables = {name: {k: int(info[k]) for k in COUNTS}
              for name, info in dataset.report["tables"].items()}
    latest = register.latest(profile)
    current = register.current(profile)
    details: dict[str, Any] = {"store": str(dataset.store),
                               "latest_date": dataset.report.get("latest_date"),
                               "max_quarantined": share}
    if rulebook is not None:  # a rulebook file of one's own: the diff reads it again
        details["rulebook"] = str(Path(rulebook).resolve())
    problems: list[Problem] = []
    if any(t["rows_quarantined"] for t in tables.values()):
        target = default_quarantine_dir(dataset)
        try:
            write_quarantine(dataset, target)
            details["quarantine_dir"] = str(target)
        except InputError as exc:
            problems += exc.problems
        except OSError as exc:
            problems.append(Problem(
                "quarantine_unwritable",
                f"无法写入隔离数据到 {target}：{exc}。 Cannot write the quarantined rows to"
                f" {target} ({exc}): make the state folder (HMB_STATE_DIR) writable and ingest"
                " again.",
                file=str(target),
            ))
    if quarantine_limit.may_breach(dataset.report, share):
        with dataset.connect() as con:
            over = quarantine_limit.breaches(con, dataset.report, share)
        problems += [b.problem(share) for b in over]
        details["over_limit"] = [b.as_json() for b in over]
    if problems:
        if (latest is not None and latest.result == "refused" and latest.folder == place
                and latest.fingerprint == dataset.fingerprint):
            return Ingested("refused", latest, tuple(problems), dataset, registered=False)
        return _refused(register, profile, place, dataset.fingerprint, tables=tables,
                        problems=problems, by=by, via=via, details=details)
    if (current is not None and current.folder == place
            and current.fingerprint == dataset.fingerprint):
        return Ingested("unchanged", current, (), dataset, registered=False)
    entry = register.record(profile=profile, folder=place, fingerprint=dataset.fingerprint,
                            result="accepted", tables=tables, by=by, via=via, details=details)
    return Ingested("accepted", entry, (), dataset)


def _refused(register: ExportRegister, profile: str, place: str, fingerprint: str, *,
             tables: dict[str, dict[str, int]], problems: list[Problem] | tuple[Problem, ...],
             by: str, via: str, details: dict[str, Any]) -> Ingested:
    details = {**details, "problems": [p.as_dict() for p in problems]}
    entry = register.record(profile=profile, folder=place, fingerprint=fingerprint,
                            result="refused", tables=tables, by=by, via=via, details=details)
    return Ingested("refused", entry, tuple(problems))


class ExportGone(Exception):
    """A registered export whose store was deleted and whose files have changed since."""


def open_export(entry: ExportEntry, liability_codes: frozenset[str] | None,
                insured_elsewhere: str | None = None) -> Dataset:
    """The validated store of a registered (accepted) export: the store it was built in while
    the cache keeps it, else built again from its folder if its files are unchanged."""
    store = entry.store
    if store is not None and store.is_file():
        mark_used(store)
        with duckdb_files.connect(store, read_only=True) as con:
            report = json.loads(con.execute("select report from _report").fetchall()[0][0])
        return Dataset(folder=Path(entry.folder), fingerprint=entry.fingerprint, store=store,
                       report=report)
    try:
        dataset = open_dataset(Path(entry.folder), liability_codes,
                               insured_elsewhere=insured_elsewhere)
    except InputError as exc:
        raise ExportGone(_gone(entry)) from exc
    if dataset.fingerprint != entry.fingerprint:
        raise ExportGone(_gone(entry))
    return dataset


def _gone(entry: ExportEntry) -> str:
    return (
        f"第 {entry.id} 号导出（{entry.profile}，{shown_time(entry.at)}）的数据库已被清理，"
        f"且 {entry.folder} 中的文件已改变，无法再打开。"
        f" Export {entry.id} ({entry.profile}, {shown_time(entry.at)}) can no longer be opened:"
        f" its store was removed from the cache and the files in {entry.folder} have changed"
        " since. Ingest those files again to bring it back."
    )


def folder_under_root(text: str, root: Path | None) -> Path:
    """The folder an administrator named in the app, if it may be ingested: under ``root``
    (``HMB_INGEST_ROOT``), written without ``..``, and with no symbolic link (on the way to it
    or inside it) that leads out of ``root``. Raises InputError with the reason otherwise."""
    if root is None:
        raise InputError([Problem(
            "ingest_not_allowed",
            "未设置可接收目录（HMB_INGEST_ROOT），不能在应用中接收导出；请用命令行 hmb ingest。"
            " No folder may be ingested from the app: HMB_INGEST_ROOT is not set. Set it to the"
            " folder the exports are delivered to, or use `hmb ingest` on the command line.",
        )])
    given = Path(text.strip())
    base = root.resolve()
    refused = (
        f"只能接收 {root} 之下的文件夹（不含 ..，不经符号链接离开该目录）：{text!r} 不行。"
        f" Only a folder under {root} may be ingested from the app (no '..', no symbolic link"
        f" leading out of it): {text!r} is refused."
    )
    if not text.strip() or ".." in given.parts:
        raise InputError([Problem("ingest_outside_root", refused, file=text)])
    place = given if given.is_absolute() else root / given
    resolved = place.resolve()
    if not resolved.is_relative_to(base):
        raise InputError([Problem("ingest_outside_root", refused, file=text)])
    if not resolved.is_dir():
        raise InputError([Problem(
            "not_found",
            f"找不到文件夹 {text}。 No folder {text} under {root}.",
            file=text,
        )])
    for link in (p for p in resolved.rglob("*") if p.is_symlink()):
        if not link.resolve().is_relative_to(base):
            raise InputError([Problem(
                "ingest_outside_root",
                f"{link} 是指向 {root} 之外的符号链接，不能在应用中接收。 {link} is a symbolic"
                f" link leading out of {root}: the export is not ingested from the app.",
                file=str(link),
            )])
    return resolved


def build_progress(elapsed: float) -> float:
    """How far the app's bar shows an ingest after ``elapsed`` seconds: the build's length is
    not known beforehand, so the bar approaches 95 % (half-way at 5 s) and completes when the
    build does."""
    return min(0.95, elapsed / (elapsed + 5.0))
