"""A validated data folder, kept in a DuckDB file keyed by a fingerprint of its inputs.

``open_dataset(folder)`` finds the tables, validates them (hmb.ingest.validation) and stores the
accepted
rows, the quarantine and the report in ``<cache>/<fingerprint>.duckdb``. Opening the same unchanged
folder again reuses that file instead of rescanning the exports; touching, adding or replacing any
input file changes the fingerprint. Metric queries run against the accepted tables in that file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from hmb.core import duckdb_files
from hmb.core.counties import county_name
from hmb.core.private_files import private_dir, private_file
from hmb.core.schema import TABLES
from hmb.core.settings import settings
from hmb.core.sql import sql_string
from hmb.ingest import validation
from hmb.ingest.loading import (
    Footer,
    InputError,
    Problem,
    TableSource,
    discover,
    drifting,
    fingerprint,
    parquet_relation,
    read_footers,
    reads_by_place,
)
from hmb.ingest.table_checks import id_tests, raw_id_problems
from hmb.rulebook.profiles import (
    Jurisdiction,
    Profile,
    ProfileError,
    available_profiles,
    load_profile,
)


def default_cache_dir() -> Path:
    """Where stores are kept: $HMB_CACHE_DIR, or data/cache in the checkout."""
    return settings().cache_dir


# The store depends on the code that builds it: a change to validation invalidates old stores.
_HMB = Path(__file__).resolve().parents[1]
_CODE_VERSION = hashlib.sha256(
    b"".join(
        path.read_bytes()
        for path in (
            *sorted((_HMB / "ingest").glob("*.py")),
            _HMB / "core" / "schema.py",
            _HMB / "core" / "sql.py",
        )
    )
).hexdigest()[:12]

_build_lock = threading.Lock()

# Building a store streams the exports once or twice; rows need not keep their order (every
# table is ordered where it is written), which lets DuckDB stream with less memory.
_BUILD_SETTINGS: dict[str, str | bool | int | float | list[str]] = {
    "preserve_insertion_order": False
}


@dataclass(frozen=True)
class Dataset:
    """A validated folder: where it came from, its store, and its validation report."""

    folder: Path
    fingerprint: str
    store: Path
    report: dict[str, Any]

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the store; use one cursor per thread or query."""
        return duckdb_files.connect(self.store, read_only=True)

    @property
    def default_as_of(self) -> date | None:
        value = self.report.get("latest_date")
        return date.fromisoformat(value) if value else None


def open_dataset(
    folder: Path,
    liability_codes: frozenset[str] | None = None,
    cache_dir: Path | None = None,
    insured_elsewhere: str | None = None,
) -> Dataset:
    """Validate ``folder`` (or reuse its store) and return the Dataset. Raises InputError.

    ``insured_elsewhere``: the jurisdiction's code when its rulebook accepts members whose basic
    insurance is registered in a county outside it (Profile.insured_elsewhere); their
    enrolments are then accepted, not quarantined as ``unknown_county``. It is part of the
    store's key: a store built under one acceptance is never reused under another."""
    folder = Path(folder)
    codes = ",".join(sorted(liability_codes)) if liability_codes is not None else "-"
    if insured_elsewhere is not None:
        codes += f"|insured_elsewhere={insured_elsewhere}"
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    # Listing the files is enough to find an existing store; footers are read only to build one.
    key = fingerprint(discover(folder, read_footers=False), _CODE_VERSION, codes)
    store = cache / f"{key}.duckdb"
    if not store.exists():
        sources = discover(folder)
        key = fingerprint(sources, _CODE_VERSION, codes)
        store = cache / f"{key}.duckdb"
        private_dir(cache)
        with _build_lock:
            if not store.exists():
                _build_store(store, folder, sources, liability_codes, insured_elsewhere)
        prune_cache(cache, keep=store)
    else:
        private_dir(cache)
        private_file(store, found=True)
        mark_used(store)
    with duckdb_files.connect(store, read_only=True) as con:
        report = json.loads(con.execute("select report from _report").fetchall()[0][0])
    return Dataset(folder=folder, fingerprint=key, store=store, report=report)


def keep_days() -> float:
    """How long an unused store or segment is kept: $HMB_CACHE_KEEP_DAYS, default 30 days. A
    setting that is not a number of days (0 or more) is said once on standard error and the
    default used (hmb.core.settings): housekeeping never stops a command."""
    return settings().cache_keep_days


def mark_used(path: Path) -> None:
    """Record that a store or segment was used (its modification time), for :func:`prune_cache`."""
    with contextlib.suppress(OSError):
        os.utime(path)


def prune_cache(cache: Path, now: float | None = None, keep: Path | None = None) -> list[Path]:
    """Delete stores and segments unused for :func:`keep_days`, so that a cache fed a new export
    every day does not fill the disk; ``keep`` (the store about to be opened) never is. A store
    still open elsewhere keeps working (POSIX)."""
    cutoff = (time.time() if now is None else now) - keep_days() * 86400
    removed: list[Path] = []
    for path in [*cache.glob("*.duckdb"), *(cache / "segments").glob("*.duckdb")]:
        with contextlib.suppress(FileNotFoundError):
            if path != keep and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
    return removed


def _build_store(
    store: Path,
    folder: Path,
    sources: dict[str, TableSource],
    liability_codes: frozenset[str] | None,
    insured_elsewhere: str | None = None,
) -> None:
    # Build under a private name and rename: a concurrent reader never sees half a store.
    partial = store.with_name(f"{store.stem}.{os.getpid()}.{threading.get_ident()}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    try:
        with duckdb_files.connect(partial, config=_BUILD_SETTINGS) as con:
            validator = validation.Validator(
                con, sources, liability_codes, segments=store.parent / "segments",
                version=_CODE_VERSION, insured_elsewhere=insured_elsewhere,
            )
            validator.run()
            _store_claimant_terms(validator, sources)
            report = validation.summarise(con, sources)
            report["folder"] = str(folder)
            report["latest_date"] = _latest_date(con)
            con.execute(
                "create table _report as select $report as report",
                {"report": json.dumps(report, ensure_ascii=False)},
            )
            for table in TABLES:
                con.execute(f"drop view if exists raw_{table.name}")
            con.execute("checkpoint")
        os.replace(private_file(partial), store)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        with contextlib.suppress(FileNotFoundError):
            partial.with_name(partial.name + ".wal").unlink()


def _store_claimant_terms(validator: validation.Validator, sources: dict[str, TableSource]) -> None:
    """``claimant_terms``: for each accepted claim, its member's health status and subsidy group
    in the claim's policy year, which the claims audit reads (contract §6: the ratio follows the
    member's accepted enrolment). Enrollment is kept aggregated (hmb.ingest.enrollment_scan), so
    these columns of the claimants' rows are kept here, by claim: the pages read the store with
    member IDs masked, and the audit groups a member's claims by ``member_number`` (a number
    per member within this store, not the ID). Every accepted claim has exactly one enrollment
    row of its key, and it is accepted: a duplicated key quarantines every copy and the key's
    claims with them (contract §2)."""
    con = validator.con
    con.execute(
        "create table claimant_terms (claim_id varchar, county_code varchar,"
        " member_number bigint, health_status varchar, subsidy_group varchar)"
    )
    enrollment = sources.get("enrollment")
    if enrollment is None:
        return
    validator._create_raw_view(enrollment)
    validator._typed_view(enrollment)
    con.execute(
        "insert into claimant_terms\n"
        "select c.claim_id, c.county_code, dense_rank() over (order by c.member_id),\n"
        "  e.health_status, e.subsidy_group\n"
        "from claims c\n"
        "inner join typed_enrollment e\n"
        "  on e.policy_year = c.policy_year and e.member_id = c.member_id\n"
        "order by c.claim_id"
    )


def _latest_date(con: duckdb.DuckDBPyConnection) -> str | None:
    """The contract's default as-of date: the latest enroll, report or settle date accepted."""
    value = con.execute(
        "select greatest("
        "(select max(enroll_date) from enrollment_cube),"
        "(select max(report_date) from claims),"
        "(select max(settle_date) from claims))"
    ).fetchall()[0][0]
    return value.isoformat() if value else None


def write_quarantine(dataset: Dataset, out_dir: Path) -> list[Path]:
    """Write each table's quarantined rows, with every original column, as parquet and CSV.

    The rows are re-read from the original files by file and row number, so the values are
    exactly what the export held, even those that could not be cast; a table whose rows hold a
    resident ID number in any column is not written (InputError). Only the files that hold
    quarantined rows are opened, and the parquet reader is given the row numbers, so a few
    hundred rows of a province's export are read in a moment, not by scanning every row.

    ``out_dir`` must lie outside the data folder and every folder its files are read from
    (through links too), and must not hold an input file under a name written here: otherwise
    an InputError, before anything is written (:func:`check_quarantine_dir`).
    """
    check_quarantine_dir(dataset, out_dir)
    private_dir(out_dir)
    written: list[Path] = []
    with duckdb_files.connect() as con:
        con.execute(f"attach {sql_string(str(dataset.store))} as store (read_only)")
        for table in TABLES:
            name = table.name
            info = dataset.report["tables"].get(name)
            if not info or not info["rows_quarantined"]:
                continue
            places = con.execute(
                f"select _file, list(_row order by _row) from store.quarantine_{name}"
                " group by _file order by _file"
            ).fetchall()
            hive = "true" if any("=" in Path(f).parent.name for f in info["files"]) else "false"
            rows = (
                f"read_parquet($files, hive_partitioning = {hive}, union_by_name = true,"
                " filename = true, file_row_number = true)"
            )
            files = [f for f, _ in places]
            paths = [Path(f) for f in files]
            footers = _footers(con, paths, name) if len(paths) > 1 else {}
            as_text = drifting(footers)
            if as_text:
                # A column typed differently in these files is read as text, as validation read
                # it: DuckDB cannot put an INTEGER and a DATE column together by name.
                rows = f"({parquet_relation(paths, hive == 'true', footers, as_text)}) as r"
            listed = {} if as_text else {"files": files}
            con.execute(f"create or replace temp table exported as select * from {rows} limit 0",
                        listed)
            for statement, params in reads_by_place(
                f"select * from {rows} where", "filename", places
            ):
                con.execute(f"insert into exported\n{statement}", {**params, **listed})
            # Every column a resident ID number could be in was scanned but the contract's numbers
            # (hmb.ingest.table_checks): one that holds an ID number breaks its type and is here.
            types = dict(
                con.execute("select column_name, column_type from (describe exported)").fetchall()
            )
            names = [c for c in types if c not in ("filename", "file_row_number")]
            problems = raw_id_problems(con, "exported", table, id_tests(types, names))
            if problems:
                raise InputError(problems)
            query = (
                f"select r.* exclude (filename, file_row_number{', _file_index' * bool(as_text)}),"
                " q._rules, q._file, q._row\n"
                f"from exported r\n"
                f"join store.quarantine_{name} q"
                f" on q._file = r.filename and q._row = r.file_row_number\n"
                f"order by q._file, q._row"
            )
            parquet = out_dir / f"{name}.parquet"
            csv = out_dir / f"{name}.csv"
            con.execute(f"copy ({query}) to {sql_string(str(parquet))} (format parquet)")
            con.execute(
                f"copy ({query}) to {sql_string(str(csv))} (header, delimiter ',')"
            )
            written += [private_file(parquet), private_file(csv)]
    return written


def default_quarantine_dir(dataset: Dataset) -> Path:
    """Where ``hmb validate`` writes the quarantined rows unless told: under the state folder,
    one folder per export and fingerprint (the same export, validated again, the same folder),
    never in the export itself."""
    name = dataset.folder.resolve().name or "export"
    return settings().state_dir / "quarantine" / f"{name}-{dataset.fingerprint}"


def check_quarantine_dir(dataset: Dataset, out_dir: Path) -> None:
    """Raise InputError when writing the quarantine to ``out_dir`` could change the export:
    ``out_dir`` is the data folder or inside it, or inside a folder its files are read from
    (a linked year's folder: its target), or one of the files it would write is an input
    file (an export whose files are links into ``out_dir``)."""
    out = out_dir.resolve()
    folder = dataset.folder.resolve()
    inputs: dict[Path, str] = {}
    read_from = {folder}
    for info in dataset.report["tables"].values():
        for name in info["files"]:
            file = Path(name)
            inputs[file.resolve()] = name
            # Every folder on the way from the data folder to the file, each resolved: a linked
            # folder's target is read from as much as the folder itself.
            parent = file.parent
            while parent != parent.parent and parent.is_relative_to(dataset.folder):
                read_from.add(parent.resolve())
                parent = parent.parent
    inside = next((root for root in sorted(read_from) if out.is_relative_to(root)), None)
    if inside is not None:
        via_zh = "" if inside == folder else f"，经由链接读入的 {inside}"
        via_en = "" if inside == folder else f", read from through a link: {inside}"
        raise InputError([Problem(
            "quarantine_in_export",
            f"隔离数据不能写入数据文件夹 {dataset.folder} 之内（{out_dir}{via_zh}）："
            "导出数据须保持原样，写入其中的文件下次还可能被当作数据读入。"
            "请用 --quarantine-dir 指定数据文件夹之外的目录，或省略它（默认写入状态目录）。"
            f" The quarantined rows are not written inside the data folder {dataset.folder}"
            f" ({out_dir}{via_en}): an export stays as it was delivered, and a file written"
            " there could be read as data next time. Give a --quarantine-dir outside it, or"
            " leave the option out to write under the state folder (HMB_STATE_DIR).",
            file=str(out_dir),
        )])
    for table in TABLES:
        info = dataset.report["tables"].get(table.name)
        if not info or not info["rows_quarantined"]:
            continue
        for target in (out / f"{table.name}.parquet", out / f"{table.name}.csv"):
            if target.resolve() in inputs:
                raise InputError([Problem(
                    "quarantine_over_input",
                    f"写入隔离数据会覆盖输入文件 {target.resolve()}（{inputs[target.resolve()]}）。"
                    f"请为 --quarantine-dir 另选目录。 Writing the quarantine to {out_dir} would"
                    f" overwrite the input file {target.resolve()} (read as"
                    f" {inputs[target.resolve()]}): give another --quarantine-dir.",
                    table=table.name,
                    file=str(target),
                )])


def _footers(con: duckdb.DuckDBPyConnection, files: list[Path], table: str) -> dict[Path, Footer]:
    return {f: found for f, found in read_footers(con, files, table).items()
            if isinstance(found, Footer)}



# -- the rulebook meets the folder -----------------------------------------------------------

DEMO_SUMMARY = "demo.json"  # what hmb demo writes beside its tables (hmb.tools.demo)


def check_jurisdiction(dataset: Dataset, profile: Profile) -> None:
    """Refuse a rulebook that is not the data's: the counties of the basic_insured table (the
    denominator of participation) must lie in the rulebook's jurisdiction (a city's counties share
    its first four digits, a province's its first two), and a folder written by ``hmb demo`` for a
    rulebook of another jurisdiction is refused too. Members enrolled from outside the
    jurisdiction (the enrollment table) never decide this. Raises InputError."""
    problems = []
    with dataset.connect() as con:
        codes = [
            str(row[0]) for row in con.execute(
                "select distinct county_code from basic_insured order by county_code"
            ).fetchall()
            if row[0] is not None
        ]
    outside = [code for code in codes if not profile.jurisdiction.contains(code)]
    place = profile.jurisdiction
    if outside:
        examples = "、".join(f"{code} {county_name(code) or ''}".strip() for code in outside[:3])
        fitting = _rulebooks_for(codes)
        hint_zh = f"，如 --profile {fitting[0]}" if fitting else ""
        hint_en = f", such as --profile {fitting[0]}" if fitting else ""
        problems.append(Problem(
            "wrong_jurisdiction",
            f"规则配置 {profile.name} 适用于{place.name_zh}（{place.adcode}），但数据 basic_insured"
            f" 表中有 {len(outside)} 个区县不属于{place.name_zh}，如 {examples}。请使用与数据所属"
            f"地区相符的规则配置{hint_zh}。 The rulebook {profile.name} governs {place.name_zh}"
            f" {place.name_en} ({place.adcode}), but {len(outside)} of the {len(codes)} counties"
            f" of the basic_insured table lie outside it, e.g. {', '.join(outside[:3])}: use the"
            f" rulebook of the data's jurisdiction{hint_en}.",
            table="basic_insured",
            column="county_code",
        ))
    written_for = _demo_profile(dataset.folder)
    if written_for is not None and written_for != profile.name:
        other = _shipped_jurisdiction(written_for)
        if other is None or other.adcode != place.adcode:
            where = f"{other.name_zh}（{other.adcode}）" if other is not None else "另一地区"
            where_en = (f"{other.name_en} ({other.adcode})" if other is not None
                        else "another jurisdiction")
            problems.append(Problem(
                "wrong_jurisdiction",
                f"数据文件夹的 {DEMO_SUMMARY} 注明它是为规则配置 {written_for}（{where}）生成的，"
                f"与规则配置 {profile.name}（{place.name_zh}，{place.adcode}）不符。请改用"
                f" --profile {written_for}。 The folder's {DEMO_SUMMARY} says it was written"
                f" for the rulebook {written_for} ({where_en}), not for {profile.name}"
                f" ({place.name_en}, {place.adcode}): use --profile {written_for}.",
                file=DEMO_SUMMARY,
            ))
    if problems:
        raise InputError(problems)


def _rulebooks_for(codes: list[str]) -> list[str]:
    """The shipped rulebooks whose jurisdiction holds every one of ``codes``."""
    fitting = []
    for name in available_profiles():
        try:
            jurisdiction = load_profile(name).jurisdiction
        except ProfileError:
            continue
        if codes and all(jurisdiction.contains(code) for code in codes):
            fitting.append(name)
    return fitting


def _shipped_jurisdiction(name: str) -> Jurisdiction | None:
    if name not in available_profiles():
        return None
    try:
        return load_profile(name).jurisdiction
    except ProfileError:
        return None


def _demo_profile(folder: Path) -> str | None:
    """The rulebook a folder written by ``hmb demo`` was written for, if it says."""
    path = folder / DEMO_SUMMARY
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = summary.get("profile") if isinstance(summary, dict) else None
    return name if isinstance(name, str) else None
