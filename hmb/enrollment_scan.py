"""Enrollment at province scale: validated and aggregated in a few scans, never stored row by row.

A province's enrollment exports run to tens of millions of rows, one per member and policy year.
Every enrollment metric of the contract (§3) is a count or a sum over a handful of columns, so the
store keeps the accepted rows *aggregated* (``enrollment_cube``) and only the rows that break a
rule one by one (``quarantine_enrollment``). The contract's rules are the same as for every other
table (hmb.validation builds their SQL); only the way they are applied is arranged for size:

1. **Member pass.** One scan of ``policy_year`` and ``member_id`` only. Per row: the 64-bit hash
   of the key, and a code: the number of the claim key the row equals (an exact join on the IDs,
   with the claims' distinct keys as the small side), or that the member ID breaks a rule, or
   that it is an ID number in clear text (fatal). The hashes are sorted in numpy: a hash seen
   twice marks a *candidate* duplicate. Real exports rarely have any, so this is usually empty.
2. **Groups.** One scan of every other column the rules and the cube need (never the member
   ID), grouped by the cube's columns and whether the row passes the rules that need more than
   those columns; the rules on the cube's columns alone (enumerations, county codes, unknown
   counties...) are then applied to the groups, not to every row.
3. **Broken rows.** Only when the groups or the member pass found something: the exact
   duplicate keys are decided on the IDs among the candidates (hashes only choose which rows to
   look at), and one filtered scan lists every broken row with every rule it breaks, its file
   and row number. The rows the groups had counted as valid but that break a rule on the member
   (a blank ID, a duplicated key) are then subtracted from the cube, each exactly once.

From these come ``enrollment_cube`` (accepted rows by policy year, county, enroll date,
status, health status, subsidy group and premium, with ``enrolments`` and ``written_premium``)
and ``_enrollment_members`` (the claimants with an accepted enrollment, for the claims rule
"a claim whose member has no accepted enrollment that year").
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hmb.loading import InputError, TableSource
from hmb.schema import SQL_TYPE, TABLES_BY_NAME
from hmb.validation import (
    _RULES_OF_ERRORS,
    RAW_ID_PATTERN,
    RuleCheck,
    Validator,
    _any_broken,
    _hit_list,
    quote_ident,
    sql_string,
)

# The cube's grain: every enrollment query groups by a subset of these.
CUBE_KEYS = (
    "policy_year",
    "county_code",
    "enroll_date",
    "status",
    "health_status",
    "subsidy_group",
    "premium",
)
ENROLLMENT = TABLES_BY_NAME["enrollment"]
_DUPLICATE = RuleCheck("duplicate_key", "d.member_id is not null", "policy_year, member_id")


# What a build leaves, per policy year: the tables a segment file keeps.
SEGMENT_TABLES = ("enrollment_cube", "_enrollment_members", "quarantine_enrollment",
                  "warned_enrollment", "_counts")


def build(
    validator: Validator,
    source: TableSource,
    claims: TableSource | None,
    segments: Path | None = None,
    version: str = "",
) -> None:
    """Validate ``source`` (the enrollment table) and store its cube, quarantine and counts.

    With ``segments`` (a folder), the work is split by policy year and each year's result is kept
    in ``segments/enrollment-<key>.duckdb``, the key hashing that year's enrollment and claims
    files, the counties of that year in basic_insured and ``version``: when one year's exports
    change, only that year is scanned again. Files whose policy year cannot be told from a hive
    folder or the parquet statistics make a single segment of the whole table.
    """
    con = validator.con
    create_empty(con)
    for year, files in _split_by_year(source).items():
        year_claims = _claims_of(claims, year)
        part = replace(source, files=files, columns=_columns(source, files))
        if segments is None:
            _build_into(validator, part, year_claims, year, "main")
            continue
        segments.mkdir(parents=True, exist_ok=True)
        key = _segment_key(con, part, year_claims, year, version)
        target = segments / f"enrollment-{key}.duckdb"
        if target.exists():
            with contextlib.suppress(OSError):
                os.utime(target)  # used: hmb.dataset.prune_cache keeps it
        else:
            _build_segment(validator, part, year_claims, year, target)
        con.execute(f"attach {sql_string(str(target))} as segment (read_only)")
        try:
            for name in SEGMENT_TABLES:
                con.execute(f"insert into main.{name} select * from segment.{name}")
        finally:
            con.execute("detach segment")
    # The segments narrowed the raw views to one year's files: give the other tables all of them.
    validator._create_raw_view(source)
    if claims is not None:
        validator._create_raw_view(claims)
    con.execute(
        "create or replace table enrollment_cube as select * from enrollment_cube order by all"
    )


def _build_segment(
    validator: Validator,
    source: TableSource,
    claims: TableSource | None,
    year: int | None,
    target: Path,
) -> None:
    """Build one year's segment file under a private name, then rename it into place."""
    con = validator.con
    partial = target.with_name(f"{target.stem}.{os.getpid()}.{threading.get_ident()}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    try:
        con.execute(f"attach {sql_string(str(partial))} as segment")
        try:
            _build_into(validator, source, claims, year, "segment")
        finally:
            con.execute("detach segment")
        os.replace(partial, target)
    finally:
        for leftover in (partial, partial.with_name(partial.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _build_into(
    validator: Validator,
    source: TableSource,
    claims: TableSource | None,
    year: int | None,
    catalog: str,
) -> None:
    """One segment: the rows of ``source`` (one policy year, or all), into ``catalog``.

    Two scans that read different columns, so every value is decoded once: the member pass
    (policy_year, member_id) and the groups (everything else). Only when some row breaks a rule
    does a third, filtered scan list the broken rows; the cube is then corrected by subtracting
    the rows the groups had counted.
    """
    con = validator.con
    validator._create_raw_view(source)
    validator._typed_view(source)
    errors, warnings = validator._rule_checks(ENROLLMENT, set(source.columns))
    row_errors = [c for c in errors if c.rule != "duplicate_key"]
    on_member = [c for c in row_errors if _reads_member(c)]
    on_rest = [c for c in row_errors if not _reads_member(c)]

    _claim_keys(validator, claims, year)
    members = _member_pass(con, on_member)
    if members.raw_id:
        raise InputError(validator._column_checks(source))
    _groups(con, on_rest)
    members.store(con)
    rows_read, groups_bad = con.execute(
        "select coalesce(sum(enrolments), 0), coalesce(bool_or(not valid), false)"
        " from _enrollment_groups"
    ).fetchall()[0]
    _exact_duplicates(con, members.candidates)
    any_bad = bool(groups_bad or members.any_bad or members.candidates)
    _bad_rows(con, [*row_errors, _DUPLICATE], on_rest, any_bad)

    if catalog != "main":
        create_empty(con, catalog)
        con.execute(
            f"create table {catalog}._counts as select * from main._counts limit 0"
        )
    keys = ", ".join(CUBE_KEYS)
    # Accepted = the valid groups, less the rows they counted that break a rule on the member
    # (a null ID, a duplicate key): those rows are in _bad_enrollment with ``counted``.
    con.execute(
        f"insert into {catalog}.enrollment_cube\n"
        f"select {keys}, sum(enrolments)::bigint as enrolments,\n"
        f"  sum(written_premium)::decimal(18, 2) as written_premium\n"
        f"from (\n"
        f"  select {keys}, enrolments, written_premium from _enrollment_groups where valid\n"
        f"  union all\n"
        f"  select {keys}, -count(*), -sum(premium - refund_amount) from _bad_enrollment\n"
        f"  where counted group by all\n"
        f") group by all having sum(enrolments) <> 0 order by all"
    )
    # A claimant's enrollment is accepted unless one of the rows of that key is quarantined
    # (a duplicated key quarantines every copy).
    con.execute(
        f"insert into {catalog}._enrollment_members\n"
        "select m.policy_year, m.member_id from _matched_claimants m\n"
        "where not exists (select 1 from _bad_enrollment b\n"
        "  where b.policy_year = m.policy_year and b.member_id = m.member_id)\n"
        "order by all"
    )
    con.execute(
        f"insert into {catalog}.quarantine_enrollment\n"
        f"select * exclude (_errors, counted), {_RULES_OF_ERRORS} as _rules, _errors\n"
        f"from _bad_enrollment order by _file, _row"
    )
    _warned(con, warnings, catalog)
    con.execute(
        f"insert into {catalog}._counts select 'enrollment', $read,"
        f" (select count(*) from {catalog}.quarantine_enrollment),"
        f" (select count(*) from {catalog}.warned_enrollment)",
        {"read": rows_read},
    )


def _split_by_year(source: TableSource) -> dict[int | None, tuple[Path, ...]]:
    """The files of each policy year, or everything under None when a file's year is unknown."""
    by_year: dict[int | None, list[Path]] = {}
    for file in source.files:
        year = _file_year(file)
        if year is None:
            return {None: source.files}
        by_year.setdefault(year, []).append(file)
    return {year: tuple(files) for year, files in sorted(by_year.items())}


def _file_year(file: Path) -> int | None:
    """The one policy year of a file: from a ``policy_year=Y`` folder, or from the parquet
    statistics when every row group holds a single year."""
    for part in file.parts:
        if part.startswith("policy_year="):
            value = part.split("=", 1)[1]
            return int(value) if value.isdigit() else None
    try:
        meta = pq.ParquetFile(file).metadata
        index = meta.schema.to_arrow_schema().get_field_index("policy_year")
        if index < 0:
            return None
        years: set[object] = set()
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(index).statistics
            if stats is None or not stats.has_min_max:
                return None
            years |= {stats.min, stats.max}
    except (OSError, ValueError, pa.ArrowException):
        return None
    only = years.pop() if len(years) == 1 else None
    return int(only) if isinstance(only, int) else None


def _claims_of(claims: TableSource | None, year: int | None) -> TableSource | None:
    if claims is None or year is None:
        return claims
    files = _split_by_year(claims)
    if None in files:
        return claims  # claims not split by year: every file may hold claimants of this year
    mine = files.get(year, ())
    return replace(claims, files=mine, columns=_columns(claims, mine)) if mine else None


def _columns(source: TableSource, files: tuple[Path, ...]) -> frozenset[str]:
    """The columns present in ``files`` (a subset of the table's)."""
    if files == source.files:
        return source.columns
    names: set[str] = set(source.hive_keys)
    for file in files:
        names |= set(pq.read_schema(file).names)
    return frozenset(names) & source.columns


def _segment_key(
    con: duckdb.DuckDBPyConnection,
    source: TableSource,
    claims: TableSource | None,
    year: int | None,
    version: str,
) -> str:
    digest = hashlib.sha256(f"{version}|{year}\n".encode())
    for part in (source, claims):
        for file in part.files if part is not None else ():
            stat = file.stat()
            digest.update(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    counties = con.execute(
        "select coalesce(string_agg(distinct county_code, ',' order by county_code), '')"
        " from basic_insured where $year is null or policy_year = $year",
        {"year": year},
    ).fetchall()[0][0]
    digest.update(str(counties).encode())
    return digest.hexdigest()[:24]


def create_empty(con: duckdb.DuckDBPyConnection, catalog: str = "main") -> None:
    """The tables ``build`` fills, empty."""
    types = {c.name: SQL_TYPE[c.kind] for c in ENROLLMENT.columns}
    keys = ", ".join(f"{k} {types[k]}" for k in CUBE_KEYS)
    columns = ", ".join(f"{quote_ident(c.name)} {types[c.name]}" for c in ENROLLMENT.columns)
    con.execute(
        f"create or replace table {catalog}.enrollment_cube ({keys}, enrolments bigint,"
        " written_premium decimal(18, 2))"
    )
    con.execute(
        f"create or replace table {catalog}._enrollment_members"
        " (policy_year integer, member_id varchar)"
    )
    con.execute(
        f"create or replace table {catalog}.quarantine_enrollment ({columns}, _file varchar,"
        ' _row bigint, _rules varchar, _errors struct(rule varchar, "column" varchar)[])'
    )
    con.execute(
        f"create or replace table {catalog}.warned_enrollment ({columns}, _file varchar,"
        ' _row bigint, _warnings struct(rule varchar, "column" varchar)[])'
    )


def _claim_keys(validator: Validator, claims: TableSource | None, year: int | None) -> None:
    """``_claim_keys``: the distinct (policy_year, member_id) of the claims, numbered; the
    member pass marks each enrollment row with the number of the key it equals."""
    con = validator.con
    if claims is None:
        con.execute(
            "create or replace temp table _claim_keys"
            " (policy_year integer, member_id varchar, idx integer)"
        )
        return
    validator._create_raw_view(claims)
    validator._typed_view(claims)
    con.execute(
        "create or replace temp table _claim_keys as\n"
        "select policy_year, member_id, (row_number() over ())::integer as idx from (\n"
        "  select distinct policy_year, member_id from typed_claims\n"
        "  where policy_year is not null and member_id is not null"
        " and ($year is null or policy_year = $year))",
        {"year": year},
    )


@dataclass(frozen=True)
class _Members:
    """What the member pass found: the numbers of the claim keys that some enrollment row
    equals, the hashes seen more than once (candidate duplicates), whether some row breaks a
    rule on the member ID, and whether an ID number was exported in clear text."""

    matched: np.ndarray
    repeated: np.ndarray
    any_bad: bool
    raw_id: bool

    @property
    def candidates(self) -> int:
        return len(self.repeated)

    def store(self, con: duckdb.DuckDBPyConnection) -> None:
        """``_matched_claimants`` and ``_duplicate_candidates`` on ``con``. Numpy arrays as
        parameters: no Arrow scan (which would import pandas) and no Python ints."""
        con.execute(
            "create or replace temp table _matched_claimants as\n"
            "select k.policy_year, k.member_id from _claim_keys k\n"
            "semi join (select unnest($matched::integer[]) as idx) m on m.idx = k.idx",
            {"matched": self.matched},
        )
        con.execute(
            "create or replace temp table _duplicate_candidates as"
            " select unnest($hashes::ubigint[]) as h",
            {"hashes": self.repeated},
        )


_RAW_ID, _MEMBER_BAD, _NO_CLAIM = -3, -2, -1


def _member_pass(con: duckdb.DuckDBPyConnection, on_member: list[RuleCheck]) -> _Members:
    """One scan of (policy_year, member_id): per row, the 64-bit hash of the key and a code
    (the number of the claim key it equals, or why the row is bad). Sorting the hashes in numpy
    finds the candidate duplicates (8 bytes a row, several times faster than a hash aggregate
    over the ID strings); the claimants are matched on the IDs themselves by the join."""
    result = con.execute(
        "select hash(t.policy_year, t.member_id) as h,\n"
        # The typed member_id is trimmed already: test its length before the pattern. (A CASE,
        # not AND: in a projection DuckDB evaluates both sides of an AND for every row.)
        f"  (case when (case when strlen(t.member_id) = 18 then regexp_full_match(t.member_id,"
        f" {sql_string(RAW_ID_PATTERN)}) else false end) then {_RAW_ID}\n"
        f"    when {_any_broken(on_member)} then {_MEMBER_BAD}\n"
        f"    else coalesce(k.idx, {_NO_CLAIM}) end)::integer as code\n"
        "from typed_enrollment t\n"
        "left join _claim_keys k on k.policy_year = t.policy_year and k.member_id = t.member_id"
    ).fetchnumpy()
    hashes = np.asarray(result["h"], dtype=np.uint64)
    codes = np.asarray(result["code"], dtype=np.int32)
    del result
    lowest = int(codes.min()) if len(codes) else _NO_CLAIM
    return _Members(
        matched=codes[codes >= 0],  # a key matched twice is a duplicate: the semi join keeps one
        repeated=_repeated_hashes(hashes),
        any_bad=lowest <= _MEMBER_BAD,
        raw_id=lowest == _RAW_ID,
    )


def _repeated_hashes(hashes: np.ndarray) -> np.ndarray:
    """The hashes seen more than once (sorts ``hashes`` in place)."""
    # Rows with a null key hash too; they never become duplicates because the exact check
    # only looks at non-null keys.
    hashes.sort()
    return np.unique(hashes[1:][hashes[1:] == hashes[:-1]])


def _exact_duplicates(con: duckdb.DuckDBPyConnection, candidates: int) -> None:
    """``_duplicate_keys``: the (policy_year, member_id) seen more than once, decided on the
    IDs themselves among the rows whose hash is a candidate (a collision only adds rows to
    look at). No candidates, no scan."""
    where = (
        "hash(policy_year, member_id) in (select h from _duplicate_candidates)"
        if candidates
        else "false"
    )
    con.execute(
        "create or replace temp table _duplicate_keys as\n"
        "select policy_year, member_id from typed_enrollment\n"
        f"where {where} and policy_year is not null and member_id is not null\n"
        "group by all having count(*) > 1"
    )


_ROW_REFERENCE = re.compile(r'\bt\.("?)([A-Za-z_:]+)\1')


def _referenced(check: RuleCheck) -> set[str]:
    """The columns a rule reads, including those behind its ``_null:`` / ``_bad:`` flags."""
    names = {name for _, name in _ROW_REFERENCE.findall(check.condition)}
    names |= set(re.findall(r'"_(?:null|bad):([A-Za-z_]+)"', check.condition))
    return names


def _reads_member(check: RuleCheck) -> bool:
    """Whether a rule reads the member ID: it is checked in the member pass, not the groups."""
    return "member_id" in _referenced(check)


def _on_keys_only(check: RuleCheck) -> bool:
    """Whether a rule reads nothing but the cube's columns: it can then be applied to the
    groups (a few hundred thousand) instead of every row (tens of millions)."""
    referenced = {name for _, name in _ROW_REFERENCE.findall(check.condition)}
    bare_flags = re.search(r'"_(null|bad):', check.condition.replace('t."_', ""))
    return bool(referenced) and referenced <= set(CUBE_KEYS) and not bare_flags


def _groups(con: duckdb.DuckDBPyConnection, on_rest: list[RuleCheck]) -> None:
    """Group the rows by the cube's columns and whether the row passes the rules that need
    the row itself (and not the member ID). The rules on the cube's columns are then applied
    per group, and the verdict kept as ``valid``."""
    per_row = [c for c in on_rest if not _on_keys_only(c)]
    per_key = [c for c in on_rest if _on_keys_only(c)]
    keys = ", ".join(f"t.{k}" for k in CUBE_KEYS)
    con.execute(
        f"create or replace temp table _row_groups as\n"
        f"select {', '.join(CUBE_KEYS)}, row_ok,\n"
        # Premium is a group key: only the refunds need summing row by row.
        f"  count(*) as enrolments, sum(refund_amount) as refunds\n"
        f"from (\n"
        f"  select {keys}, t.refund_amount, not ({_any_broken(per_row)}) as row_ok\n"
        f"  from typed_enrollment t\n"
        f") group by all"
    )
    con.execute(
        f"create or replace temp table _enrollment_groups as\n"
        f"select t.* exclude (refunds),\n"
        f"  t.premium * t.enrolments - t.refunds as written_premium,\n"
        f"  t.row_ok and not ({_any_broken(per_key)}) as valid\n"
        f"from _row_groups t"
    )


def _bad_rows(
    con: duckdb.DuckDBPyConnection,
    checks: list[RuleCheck],
    on_rest: list[RuleCheck],
    any_bad: bool,
) -> None:
    """``_bad_enrollment``: every row that breaks a rule, with the rules it breaks and whether
    the groups counted it as valid (``counted``: it breaks only rules on the member ID). One
    filtered scan, only when the member pass or the groups found something."""
    where = " or ".join(c.broken() for c in checks) if any_bad else "false"
    con.execute(
        f"create or replace temp table _bad_enrollment as\n"
        f"select {_typed_columns()}, t._file, t._row, {_hit_list(checks)} as _errors,\n"
        f"  not ({_any_broken(on_rest)}) as counted\n"
        f"from typed_enrollment t\n"
        f"left join _duplicate_keys d on d.policy_year = t.policy_year"
        f" and d.member_id = t.member_id\n"
        f"where {where}"
    )


def _typed_columns() -> str:
    return ", ".join(f"t.{quote_ident(c.name)}" for c in ENROLLMENT.columns)


def _warned(con: duckdb.DuckDBPyConnection, warnings: list[RuleCheck], catalog: str) -> None:
    where = " or ".join(c.broken() for c in warnings) if warnings else "false"
    con.execute(
        f"insert into {catalog}.warned_enrollment\n"
        f"select {_typed_columns()}, t._file, t._row, {_hit_list(warnings)} as _warnings\n"
        f"from typed_enrollment t where {where} order by t._file, t._row"
    )

