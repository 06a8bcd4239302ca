"""Enrollment at province scale: validated and aggregated in a few scans, never stored row by row.

A province's enrollment exports run to tens of millions of rows, one per member and policy year.
Every enrollment metric of the contract (§3) is a count or a sum over a handful of columns, so the
store keeps the accepted rows *aggregated* (``enrollment_cube``) and only the rows that break a
rule one by one (``quarantine_enrollment``). The contract's rules are the same as for every other
table (hmb.ingest.validation builds their SQL); only the way they are applied is arranged for size:

1. **Member pass.** One scan of ``policy_year`` and ``member_id`` only. Per row: the 64-bit hash
   of the key; a code: the number of the claim key the row equals (an exact join on the IDs,
   with the claims' distinct keys as the small side), or that the member ID breaks a rule, or
   that it is an ID number in clear text (fatal); and the row's place (file and row number).
   The hashes are sorted in numpy: a hash seen twice marks a *candidate* duplicate.
2. **Groups and census.** One scan of the cube's columns, grouped on their values *as
   exported* (typing and trimming tens of millions of values is the costly part; a group is
   typed once): the rules on the cube's columns alone (enumerations, county codes, unknown
   counties, blank or unparseable values) are decided per group. One more scan lists the
   distinct values (null included) of every other column a rule reads: each of those rules
   reads one column (an enumeration, a blank, a negative or unparseable amount), so it is
   decided once per distinct value, typed exactly as the rows are (a dictionary-encoded
   column costs the reader almost nothing to list).
3. **Rows to check.** Only when something was found: the rows that may break a rule are located
   without reading whole rows (the member pass's bad members and candidate duplicates by their
   place; for each rule that a group or a distinct value broke, the rows holding those raw
   values, which the parquet reader finds from its statistics and dictionaries), then read by
   their place and decided on every rule, typed. Duplicates are decided on the IDs among them:
   every copy of a duplicated key has the same hash, so all copies are there.

The cube is every row, grouped, less the rows that break a rule: a clean export is read in three
scans of different columns, each value once.

From these come ``enrollment_cube`` (accepted rows by policy year, county, enroll date,
status, health status, subsidy group and premium, with ``enrolments`` and ``written_premium``),
``subsidised_funding`` (the accepted rows of a subsidised group by year, county, enroll date,
status, group and channel, and whether the subsidy paid the whole premium: a few rows, read
from the rows whose subsidy group is given) and, for the claims rule "a claim whose member has
no accepted enrollment that year",
``_claim_years`` (the years whose claims were decided here) and
``_claimants_without_enrollment`` (the claims' keys of those years without one).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import numpy as np

from hmb.core.member_ids import raw_id_sql
from hmb.core.private_files import private_dir, private_file
from hmb.core.schema import SQL_TYPE, TABLES_BY_NAME
from hmb.core.sql import quote_ident, sql_string
from hmb.ingest.loading import InputError, TableSource, reads_by_place
from hmb.ingest.row_rules import RULES_OF_ERRORS, RuleCheck, any_broken, hit_list
from hmb.ingest.table_checks import (
    TableChecks,
    id_tests,
    raw_id_problems,
    unreadable_as_input_error,
)
from hmb.ingest.typed_sql import typed_expr, typed_items

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
# Subsidised enrolments by how their premium was paid (温医保联发〔2021〕1号 三（三）3: the local
# treasury pays for 特困、低保、低边): their grain, beside ``funded`` (the subsidy paid the whole
# premium, through the government channel) and the part the member paid.
FUNDING_KEYS = ("policy_year", "county_code", "enroll_date", "status", "subsidy_group", "channel")
ENROLLMENT = TABLES_BY_NAME["enrollment"]
_DUPLICATE = RuleCheck("duplicate_key", "d.member_id is not null", "policy_year, member_id")


# What a build leaves, per policy year: the tables a segment file keeps.
SEGMENT_TABLES = ("enrollment_cube", "subsidised_funding", "_claim_years",
                  "_claimants_without_enrollment", "quarantine_enrollment", "warned_enrollment",
                  "_counts")
# Kept in a segment, for its reuse; in the store only while the claims are checked.
_WHILE_BUILDING = ("_claim_years", "_claimants_without_enrollment")


def _temporary(catalog: str, name: str) -> bool:
    """Whether a table of the build is kept only while the store is built (in the store
    itself, the tables of :data:`_WHILE_BUILDING`)."""
    return catalog == "main" and name in _WHILE_BUILDING


def _table(catalog: str, name: str) -> str:
    """Where a table of the build goes: into ``catalog``, or into the temporary schema."""
    return f"temp.{name}" if _temporary(catalog, name) else f"{catalog}.{name}"


def build(
    validator: TableChecks,
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
    targets: list[Path] = []
    missing: list[tuple[TableSource, TableSource | None, int | None, Path]] = []
    for year, files in _split_by_year(source).items():
        year_claims = _claims_of(claims, year)
        part = replace(source, files=files, columns=_columns(source, files))
        if segments is None:
            _build_into(validator, part, year_claims, year, "main")
            continue
        private_dir(segments)
        key = _segment_key(con, part, year_claims, year, version,
                           insured_elsewhere=validator.insured_elsewhere)
        target = segments / f"enrollment-{key}.duckdb"
        if target.exists():
            private_file(target, found=True)
            with contextlib.suppress(OSError):
                os.utime(target)  # used: hmb.ingest.dataset.prune_cache keeps it
        else:
            missing.append((part, year_claims, year, target))
        targets.append(target)
    # Two years at a time, each on a connection of its own: a year's scans leave a core idle
    # for about a quarter of its time (the rows read again by place, the claim keys, the glue).
    with ThreadPoolExecutor(max_workers=_YEARS_AT_ONCE) as years:
        for done in [years.submit(_build_segment, validator, *m) for m in missing]:
            done.result()
    for target in targets:
        con.execute(f"attach {sql_string(str(target))} as segment (read_only)")
        try:
            for name in SEGMENT_TABLES:
                con.execute(f"insert into {_table('main', name)} select * from segment.{name}")
        finally:
            con.execute("detach segment")
    # The segments narrowed the raw views to one year's files: give the other tables all of them.
    validator._create_raw_view(source)
    if claims is not None:
        validator._create_raw_view(claims)
    for name in ("enrollment_cube", "subsidised_funding"):
        con.execute(f"create or replace table {name} as select * from {name} order by all")


_YEARS_AT_ONCE = 2


def _build_segment(
    validator: TableChecks,
    source: TableSource,
    claims: TableSource | None,
    year: int | None,
    target: Path,
) -> None:
    """Build one year's segment file under a private name, then rename it into place. On a
    connection of its own, with its own raw and typed views: two years are built at once."""
    beside = validator.beside()
    partial = target.with_name(f"{target.stem}.{os.getpid()}.{threading.get_ident()}.partial")
    # The file's own name in the catalog: another year is built at the same time.
    catalog = "segment_" + hashlib.sha256(target.name.encode()).hexdigest()[:12]
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    try:
        beside.con.execute(f"attach {sql_string(str(partial))} as {catalog}")
        try:
            _build_into(beside, source, claims, year, catalog)
        finally:
            beside.con.execute(f"detach {catalog}")
        os.replace(private_file(partial), target)
    finally:
        beside.con.close()
        for leftover in (partial, partial.with_name(partial.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _build_into(
    validator: TableChecks,
    source: TableSource,
    claims: TableSource | None,
    year: int | None,
    catalog: str,
) -> None:
    """One segment: the rows of ``source`` (one policy year, or all), into ``catalog``.

    Scans that read different columns, so every value is decoded once: the member pass
    (policy_year, member_id), the groups (the cube's columns) and the census (the other columns
    a rule reads). Only the rows that may break a rule are then read again, by their place; the
    cube is every row grouped, less the rows that break a rule.
    """
    con = validator.con
    raw_types = validator.raw_types[ENROLLMENT.name]
    validator._create_raw_view(source)
    validator._typed_view(source)
    errors, warnings = validator._rule_checks(ENROLLMENT, set(source.columns))
    row_errors = [c for c in errors if c.rule != "duplicate_key"]
    on_member = [c for c in row_errors if _reads_member(c)]
    on_keys = [c for c in row_errors if not _reads_member(c) and _on_keys_only(c)]
    on_row = [c for c in row_errors if not _reads_member(c) and not _on_keys_only(c)]

    _claim_keys(validator, claims, year)
    hashes, codes, places = _member_pass(con, on_member)
    if len(codes) and int(codes.min()) == _RAW_ID:
        raise InputError(validator._column_checks(source))
    # The numpy half of the member pass (a sort on one core) runs while DuckDB groups the rows.
    with ThreadPoolExecutor(max_workers=1) as numpy_thread:
        found = numpy_thread.submit(_Members.found, hashes, codes, places)
        _groups(con, source, raw_types)
        _census(con, source, on_row)
        members = found.result()
    del hashes, codes, places
    members.store(con)
    rows_read = con.execute(
        "select coalesce(sum(enrolments), 0) from _enrollment_groups"
    ).fetchall()[0][0]
    _broken_rows(
        con,
        [*row_errors, _DUPLICATE],
        _rows_to_check(con, source, raw_types, members, on_keys=on_keys, on_row=on_row),
        source,
        raw_types,
    )

    if catalog != "main":
        create_empty(con, catalog)
        con.execute(
            f"create table {catalog}._counts as select * from main._counts limit 0"
        )
    keys = ", ".join(CUBE_KEYS)
    # Accepted = every row, grouped, less the rows that break a rule. Every broken row is in
    # _bad_enrollment, and a group whose keys break a rule loses all of its rows (sum zero).
    con.execute(
        f"insert into {catalog}.enrollment_cube\n"
        f"select {keys}, sum(enrolments)::bigint as enrolments,\n"
        f"  sum(written_premium)::decimal(18, 2) as written_premium\n"
        f"from (\n"
        f"  select {keys}, enrolments, written_premium from _enrollment_groups\n"
        f"  union all\n"
        f"  select {keys}, -count(*), -sum(premium - refund_amount) from _bad_enrollment\n"
        f"  group by all\n"
        f") group by all having sum(enrolments) <> 0 order by all"
    )
    _subsidised_funding(con, source, raw_types, catalog)
    # The claims' keys this segment decided (every claim key of its year), and those without
    # an accepted enrollment: no enrollment row equals them, or one of the rows of that key is
    # quarantined (a duplicated key quarantines every copy). A few, where the claimants with an
    # accepted enrollment are hundreds of thousands.
    con.execute(
        f"insert into {_table(catalog, '_claim_years')}\n"
        "select distinct policy_year from _claim_keys"
    )
    con.execute(
        f"insert into {_table(catalog, '_claimants_without_enrollment')}\n"
        "select policy_year, member_id from _claim_matches where not matched\n"
        "union all\n"
        "select m.policy_year, m.member_id from _claim_matches m where m.matched and exists (\n"
        "  select 1 from _bad_enrollment b\n"
        "  where b.policy_year = m.policy_year and b.member_id = m.member_id)"
    )
    con.execute(
        f"insert into {catalog}.quarantine_enrollment\n"
        f"select * exclude (_errors), {RULES_OF_ERRORS} as _rules, _errors\n"
        f"from _bad_enrollment order by _file, _row"
    )
    # This segment's rows only: without segment files every year goes into main, whose tables
    # already hold the years before.
    warned_before = con.execute(f"select count(*) from {catalog}.warned_enrollment").fetchall()
    _warned(con, warnings, catalog)
    con.execute(
        f"insert into {catalog}._counts select 'enrollment', $read,"
        " (select count(*) from _bad_enrollment),"
        f" (select count(*) from {catalog}.warned_enrollment) - $warned_before",
        {"read": rows_read, "warned_before": warned_before[0][0]},
    )


def _split_by_year(source: TableSource) -> dict[int | None, tuple[Path, ...]]:
    """The files of each policy year (hmb.ingest.loading.Footer: from a ``policy_year=Y`` folder or
    the file's statistics), or everything under None when a file's year is unknown."""
    by_year: dict[int | None, list[Path]] = {}
    for file in source.files:
        footer = source.footers.get(file)
        if footer is None or footer.policy_year is None:
            return {None: source.files}
        by_year.setdefault(footer.policy_year, []).append(file)
    return {year: tuple(files) for year, files in sorted(by_year.items())}


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
        names |= source.footers[file].columns
    return frozenset(names) & source.columns


def _segment_key(
    con: duckdb.DuckDBPyConnection,
    source: TableSource,
    claims: TableSource | None,
    year: int | None,
    version: str,
    *,
    insured_elsewhere: str | None = None,
) -> str:
    # Whether members insured elsewhere are accepted changes the year's verdicts: part of the key.
    digest = hashlib.sha256(f"{version}|{year}|{insured_elsewhere or '-'}\n".encode())
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
    funding = ", ".join(f"{k} {types[k]}" for k in FUNDING_KEYS)
    con.execute(
        f"create or replace table {catalog}.subsidised_funding ({funding}, funded boolean,"
        " enrolments bigint, self_paid decimal(18, 2))"
    )
    for name, columns_of in (("_claim_years", "(policy_year integer)"),
                             ("_claimants_without_enrollment",
                              "(policy_year integer, member_id varchar)")):
        temp = "temp " if _temporary(catalog, name) else ""
        con.execute(f"create or replace {temp}table {_table(catalog, name)} {columns_of}")
    con.execute(
        f"create or replace table {catalog}.quarantine_enrollment ({columns}, _file varchar,"
        ' _row bigint, _rules varchar, _errors struct(rule varchar, "column" varchar)[])'
    )
    con.execute(
        f"create or replace table {catalog}.warned_enrollment ({columns}, _file varchar,"
        ' _row bigint, _warnings struct(rule varchar, "column" varchar)[])'
    )


def _claim_keys(validator: TableChecks, claims: TableSource | None, year: int | None) -> None:
    """``_claim_keys``: the distinct (policy_year, member_id) of the claims, numbered; the
    member pass marks each enrollment row with the number of the key it equals."""
    con = validator.con
    if claims is None:
        con.execute(
            "create or replace temp table _claim_keys"
            " (policy_year integer, member_id varchar, idx integer)"
        )
        return
    with unreadable_as_input_error(claims):  # the claims' files named, not enrollment's
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
    equals, and the rows to look at again (a member that breaks a rule, or a key whose hash was
    seen twice: a candidate duplicate)."""

    matched: np.ndarray
    to_check: np.ndarray  # places: file index << 32 | row number

    @classmethod
    def found(cls, hashes: np.ndarray, codes: np.ndarray, places: np.ndarray) -> _Members:
        """From the member pass: sorting the hashes finds the candidate duplicates (8 bytes a
        row, several times faster than a hash aggregate over the ID strings). Their rows and
        those of the bad members are looked at again by their place (:func:`_broken_rows`), not
        by scanning for them. Numpy only: it runs beside the next scan."""
        look = np.flatnonzero(codes <= _MEMBER_BAD)
        repeated = _repeated_hashes(hashes)
        if len(repeated):
            look = np.union1d(look, _rows_with(hashes, repeated))
        # A key matched twice is a duplicate: the bit mask of :meth:`store` keeps it once.
        return cls(matched=codes[codes >= 0], to_check=places[look])

    def store(self, con: duckdb.DuckDBPyConnection) -> None:
        """``_claim_matches`` on ``con``: each claim key, and whether an enrollment row equals
        it. The matched key numbers go over as one bit string (a bit per key number: one
        value, not one per key)."""
        keys = con.execute("select coalesce(max(idx), 0) from _claim_keys").fetchall()[0][0]
        bits = np.full(keys + 1, ord("0"), dtype=np.uint8)
        bits[self.matched] = ord("1")
        con.execute(
            "create or replace temp table _claim_matches as\n"
            "select policy_year, member_id, get_bit($bits::bit, idx) = 1 as matched"
            " from _claim_keys",
            {"bits": bits.tobytes().decode("ascii")},
        )


_RAW_ID, _MEMBER_BAD, _NO_CLAIM = -3, -2, -1


def _member_pass(
    con: duckdb.DuckDBPyConnection, on_member: list[RuleCheck]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One scan of (policy_year, member_id): per row, the 64-bit hash of the key, a code (the
    number of the claim key it equals, or why the row is bad) and where the row is (file index
    << 32 | row number). The claimants are matched on the IDs themselves by the join;
    :meth:`_Members.found` makes the rest of it in numpy."""
    result = con.execute(
        "select hash(t.policy_year, t.member_id) as h,\n"
        # The typed member_id is text; the test looks at its length before the pattern.
        f"  (case when {raw_id_sql('t.member_id')} then {_RAW_ID}\n"
        f"    when {any_broken(on_member)} then {_MEMBER_BAD}\n"
        f"    else coalesce(k.idx, {_NO_CLAIM}) end)::integer as code,\n"
        f"  t._file_index::bigint << 32 | t._row as rid\n"
        "from typed_enrollment t\n"
        "left join _claim_keys k on k.policy_year = t.policy_year and k.member_id = t.member_id"
    ).fetchnumpy()
    return (
        np.asarray(result["h"], dtype=np.uint64),
        np.asarray(result["code"], dtype=np.int32),
        np.asarray(result["rid"], dtype=np.int64),
    )


_BUCKETS = np.uint64((1 << 20) - 1)


def _rows_with(hashes: np.ndarray, repeated: np.ndarray) -> np.ndarray:
    """The positions of the rows whose hash is one of ``repeated`` (sorted). A table of a
    million buckets, small enough to stay in the processor's cache, passes a few rows on to
    the exact comparison. Rows with a null key hash too; they never become duplicates because
    the exact check only counts non-null keys."""
    buckets = np.zeros(int(_BUCKETS) + 1, dtype=bool)
    buckets[repeated & _BUCKETS] = True
    maybe = np.flatnonzero(buckets[hashes & _BUCKETS])
    return maybe[np.isin(hashes[maybe], repeated)]


def _repeated_hashes(hashes: np.ndarray) -> np.ndarray:
    """The hashes seen more than once, sorted."""
    ordered = np.sort(hashes)
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


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
    """Whether a rule reads nothing but the cube's columns (their values or their ``_null:`` and
    ``_bad:`` flags): it is then decided once per group (a few hundred thousand) instead of once
    per row (tens of millions)."""
    referenced = _referenced(check)
    return bool(referenced) and referenced <= set(CUBE_KEYS)


# The raw value of a column, as exported, beside its light or typed value.
_RAW = "_raw:"


def _present_keys(source: TableSource) -> tuple[str, ...]:
    return tuple(k for k in CUBE_KEYS if k in source.columns)


def _raw_key(name: str, raw_types: dict[str, str], prefix: str = "") -> str:
    """A cube column as the groups are formed on it: the exported value itself, typed per group
    rather than per row, except a timestamp, cut to its date per row so the groups stay few."""
    ident = quote_ident(prefix + name)
    return f"cast({ident} as date)" if raw_types.get(name, "").startswith("TIMESTAMP") else ident


def _groups(
    con: duckdb.DuckDBPyConnection,
    source: TableSource,
    raw_types: dict[str, str],
) -> None:
    """``_enrollment_groups``: every row counted once, grouped on the raw values of the cube's
    columns. Each group is then typed; its typed values and ``_null:`` / ``_bad:`` flags, and
    its raw values (``_raw:`` + column), are kept for the rules on the cube's columns."""
    keys = _present_keys(source)
    refund = ENROLLMENT.column("refund_amount")
    refund_sql = typed_expr(refund, refund.name in source.columns, raw_types.get(refund.name))
    raw_keys = [f"{_raw_key(k, raw_types)} as {quote_ident(k)}" for k in keys]
    con.execute(
        f"create or replace temp table _raw_groups as\n"
        f"select {', '.join(raw_keys)}, count(*) as enrolments, sum({refund_sql}) as refunds\n"
        f"from raw_enrollment group by {', '.join(quote_ident(k) for k in keys)}"
    )
    group_types = {
        k: "DATE" if _raw_key(k, raw_types) != quote_ident(k) else raw_types.get(k, "")
        for k in keys
    }
    typed = typed_items(
        [ENROLLMENT.column(k) for k in CUBE_KEYS], set(source.columns), group_types
    )
    raw = [f"g.{quote_ident(k)} as {quote_ident(_RAW + k)}" for k in keys]
    con.execute(
        f"create or replace temp table _enrollment_groups as\n"
        f"select t.*, t.premium * t.enrolments - t.refunds as written_premium from (\n"
        f"  select {', '.join(typed)}, g.enrolments, g.refunds, {', '.join(raw)}\n"
        f"  from _raw_groups g\n"
        f") t"
    )


def _subsidised_funding(
    con: duckdb.DuckDBPyConnection,
    source: TableSource,
    raw_types: dict[str, str],
    catalog: str,
) -> None:
    """``subsidised_funding``: the accepted rows of a subsidised group, by :data:`FUNDING_KEYS`
    and whether the subsidy paid the whole premium. Only the rows whose raw subsidy group is
    given are read and typed (a few in a hundred); the broken ones among them are taken out as
    the cube's are (every broken row is in ``_bad_enrollment``, typed the same way)."""
    if "subsidy_group" not in source.columns:
        return
    present = set(source.columns)
    wanted = [ENROLLMENT.column(k) for k in (*FUNDING_KEYS, "premium", "subsidy_amount")]
    typed = ", ".join(typed_items(wanted, present, raw_types))
    keys = ", ".join(FUNDING_KEYS)
    funded = "coalesce(subsidy_amount >= premium and channel = 'government', false)"
    self_paid = "greatest(coalesce(premium - subsidy_amount, 0), 0)"
    con.execute(
        f"insert into {catalog}.subsidised_funding\n"
        f"select {keys}, funded, sum(n)::bigint, sum(self_paid)::decimal(18, 2)\n"
        f"from (\n"
        f"  select {keys}, {funded} as funded, 1 as n, {self_paid} as self_paid\n"
        f"  from (select {typed} from raw_enrollment where subsidy_group is not null) t\n"
        f"  where subsidy_group is not null\n"
        f"  union all\n"
        f"  select {keys}, {funded}, -1, -{self_paid} from _bad_enrollment\n"
        f"  where subsidy_group is not null\n"
        f") group by all having sum(n) <> 0 order by all"
    )


def _census(
    con: duckdb.DuckDBPyConnection, source: TableSource, on_row: list[RuleCheck]
) -> None:
    """``_census``: one row, the distinct raw values (null included) of each column that the
    rules on the rest of the row read. Those rules read one column each (enumerations, blanks,
    negative or unparseable amounts), so they are decided once per distinct value, a few dozen,
    instead of once per row: the casts of tens of millions of values were the costly part."""
    for check in on_row:
        if len(_referenced(check)) != 1:
            # A rule across several columns of the rest of the row would have to be decided
            # row by row: there is none in the contract (§2).
            raise ValueError(f"an enrollment rule reads several columns: {check}")
    columns = sorted({c for check in on_row for c in _referenced(check)} & set(source.columns))
    values = [f"list(distinct {quote_ident(c)}) as {quote_ident(c)}" for c in columns]
    con.execute(
        "create or replace temp table _census as select "
        + (", ".join(values) or "1 as nothing") + " from raw_enrollment"
    )


def _census_values(source: TableSource, raw_types: dict[str, str], column: str) -> str:
    """The distinct raw values of one column of ``_census``, typed as the rows are."""
    col = ENROLLMENT.column(column)
    present = set(source.columns)
    typed = ", ".join(typed_items([col], present, raw_types, prefix=_RAW))
    if column not in present:
        return f"(select {typed}, null as {quote_ident(_RAW + column)})"
    return (f"(select {typed}, {quote_ident(_RAW + column)} from"
            f" (select unnest({quote_ident(column)}) as {quote_ident(_RAW + column)}"
            f" from _census))")


def _rows_to_check(
    con: duckdb.DuckDBPyConnection,
    source: TableSource,
    raw_types: dict[str, str],
    members: _Members,
    *,
    on_keys: list[RuleCheck],
    on_row: list[RuleCheck],
) -> np.ndarray:
    """Where every row that may break a rule is (file index << 32 | row number, sorted), found
    without reading whole rows: the member pass's bad members and duplicate candidates; and the
    rows holding the raw values that break a rule on the cube's columns (decided per group) or
    on one other column (decided per distinct value, :func:`_census`). Those rows are found by
    one scan per rule of the columns it reads (the parquet reader skips what its statistics and
    dictionaries rule out). A clean export has none."""
    present = set(source.columns)
    where: list[str] = []
    params: dict[str, object] = {}
    decided = [(check, "_enrollment_groups", _raw_key) for check in on_keys] + [
        (check, _census_values(source, raw_types, column), _as_exported)
        for check in on_row
        for column in _referenced(check)
    ]
    for check, relation, raw_expr in decided:
        # A column absent from the export is a constant: only the others tell the rows apart.
        columns = sorted(_referenced(check) & present)
        broken, *culprits = con.execute(
            "select count(*)"
            + "".join(f", list(distinct t.{quote_ident(_RAW + c)})" for c in columns)
            + "".join(f", bool_or(t.{quote_ident(_RAW + c)} is null)" for c in columns)
            + f" from {relation} t where {check.broken()}"
        ).fetchall()[0]
        if not broken:
            continue
        each = []
        for number, column in enumerate(columns):
            raw = raw_expr(column, raw_types)
            values = [v for v in culprits[number] if v is not None]
            name = f"v{len(params)}"
            either = [f"{raw} = any(${name})"] if values else []
            if culprits[len(columns) + number]:
                either.append(f"{raw} is null")
            params |= {name: values} if values else {}
            each.append(f"({' or '.join(either)})")
        where.append(" and ".join(each) or "true")
    found = [members.to_check]
    if where:
        # One scan per rule, not one with an OR across columns: the reader then skips on each
        # column's own statistics and dictionaries (several times faster).
        found.append(_row_ids(
            con,
            "(" + "\n  union all\n".join(
                f"select _file_index, file_row_number from raw_enrollment where {w}"
                for w in where
            ) + ")",
            "file_row_number", "true", params,
        ))
    return np.unique(np.concatenate(found))


def _as_exported(name: str, raw_types: dict[str, str]) -> str:
    """A column as :func:`_census` takes it: the exported value (the signature of _raw_key)."""
    del raw_types
    return quote_ident(name)


def _row_ids(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    row_number: str,
    where: str,
    params: dict[str, object],
) -> np.ndarray:
    """The places (file index << 32 | row number) of the rows of ``relation`` ``where``."""
    rows = con.execute(
        f"select _file_index::bigint << 32 | {row_number} as rid from {relation} where {where}",
        params,
    ).fetchnumpy()["rid"]
    return np.asarray(rows, dtype=np.int64)


def _broken_rows(
    con: duckdb.DuckDBPyConnection,
    checks: list[RuleCheck],
    rows: np.ndarray,
    source: TableSource,
    raw_types: dict[str, str],
) -> None:
    """``_bad_enrollment``: every row that breaks a rule, with the rules it breaks, decided on
    the typed values of the rows to check only (:func:`_rows_to_check`), read by their file and
    row number. The duplicate keys among them are exact, because every copy of a duplicated key
    has the same hash and is among them."""
    # Read as exported, then typed: the reader hands over whole vectors of rows, and typing
    # them before the row numbers are matched would cost more than reading them.
    present = [quote_ident(c.name) for c in ENROLLMENT.columns if c.name in source.columns]
    select = (f"select {', '.join(present)}, filename, file_row_number"
              " from raw_enrollment where ")
    con.execute(f"create or replace temp table _picked_raw as {select} false")
    files = rows >> 32
    places = [(int(f), rows[files == f] & 0xFFFFFFFF) for f in np.unique(files)]
    for statement, params in reads_by_place(select, "_file_index", places):
        con.execute(f"insert into _picked_raw\n{statement}", params)
    # An ID number in a column other than member_id breaks a rule of that column (a county code,
    # an enumeration, an amount): the row is among these, and is refused before it is kept.
    picked_types = dict(
        con.execute("select column_name, column_type from (describe _picked_raw)").fetchall()
    )
    names = [c.name for c in ENROLLMENT.columns if c.name in source.columns]
    problems = raw_id_problems(con, "_picked_raw", ENROLLMENT, id_tests(picked_types, names))
    if problems:
        raise InputError(problems)
    typed = ", ".join(typed_items(ENROLLMENT.columns, set(source.columns), raw_types))
    con.execute(
        f"create or replace temp table _picked as select {typed},"
        " filename as _file, file_row_number as _row from _picked_raw"
    )
    con.execute(
        "create or replace temp table _duplicate_keys as\n"
        "select policy_year, member_id from _picked\n"
        "where policy_year is not null and member_id is not null\n"
        "group by all having count(*) > 1"
    )
    con.execute(
        f"create or replace temp table _bad_enrollment as\n"
        f"select * from (\n"
        f"  select {_typed_columns()}, t._file, t._row, {hit_list(checks)} as _errors\n"
        f"  from _picked t\n"
        f"  left join _duplicate_keys d on d.policy_year = t.policy_year"
        f" and d.member_id = t.member_id\n"
        f") where len(_errors) > 0"
    )


def _typed_columns() -> str:
    return ", ".join(f"t.{quote_ident(c.name)}" for c in ENROLLMENT.columns)


def _warned(con: duckdb.DuckDBPyConnection, warnings: list[RuleCheck], catalog: str) -> None:
    where = " or ".join(c.broken() for c in warnings) if warnings else "false"
    con.execute(
        f"insert into {catalog}.warned_enrollment\n"
        f"select {_typed_columns()}, t._file, t._row, {hit_list(warnings)} as _warnings\n"
        f"from typed_enrollment t where {where} order by t._file, t._row"
    )

