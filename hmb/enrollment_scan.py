"""Enrollment at province scale: validated and aggregated in a few scans, never stored row by row.

A province's enrollment exports run to tens of millions of rows, one per member and policy year.
Every enrollment metric of the contract (§3) is a count or a sum over a handful of columns, so the
store keeps the accepted rows *aggregated* (``enrollment_cube``) and only the rows that break a
rule one by one (``quarantine_enrollment``). The contract's rules are the same as for every other
table (hmb.validation builds their SQL); only the way they are applied is arranged for size:

1. **Keys.** The 64-bit hash of (policy_year, member_id) of every row, sorted: a hash seen twice
   marks a *candidate* duplicate. Real exports rarely have any, so this is usually empty.
2. **Groups.** One scan of the columns the rules and the cube need, grouped by the cube's columns
   and whether the row passes the rules that need more than those columns (claimants' IDs are
   listed per group, candidate duplicates get a group of their own); the rules on the
   cube's columns alone (enumerations, county codes, unknown counties...) are then applied to
   the groups, not to every row. The member_id is kept as a group key only
   for candidate duplicates and for members who have a claim, so the groups stay small. Exact
   duplicate keys (``policy_year`` + ``member_id`` seen more than once) come out of these groups:
   hashes only choose which keys to look at, the decision compares the IDs themselves.
3. **Quarantine.** Only when some row breaks a rule: one filtered scan writes those rows with
   every rule they break, their file and row number.

From the groups come ``enrollment_cube`` (accepted rows by policy year, county, enroll date,
status, health status, subsidy group and premium, with ``enrolments`` and ``written_premium``)
and ``_enrollment_members`` (the claimants with an accepted enrollment, for the claims rule
"a claim whose member has no accepted enrollment that year").
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pyarrow as pa

from hmb.loading import InputError, TableSource
from hmb.schema import SQL_TYPE, TABLES_BY_NAME
from hmb.validation import (
    _RULES_OF_ERRORS,
    RuleCheck,
    Validator,
    _hit_list,
    quote_ident,
    raw_id_sql,
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


def build(validator: Validator, source: TableSource, claims: TableSource | None) -> None:
    """Validate ``source`` (the enrollment table) and store its cube, quarantine and counts."""
    con = validator.con
    validator._typed_view(source)
    errors, warnings = validator._rule_checks(ENROLLMENT, set(source.columns))
    row_errors = [c for c in errors if c.rule != "duplicate_key"]

    _claim_keys(validator, claims)
    _duplicate_candidates(con)
    _groups(con, row_errors)
    if con.execute("select coalesce(bool_or(raw_id), false) from _enrollment_groups").fetchall()[
        0
    ][0]:
        raise InputError(validator._column_checks(source))
    con.execute(
        "create temp table _duplicate_keys as\n"
        "select policy_year, member_key as member_id from _enrollment_groups\n"
        "where member_key is not null and policy_year is not null\n"
        "group by all having sum(enrolments) > 1"
    )
    accepted = (
        "valid and not exists (select 1 from _duplicate_keys d"
        " where d.policy_year = g.policy_year and d.member_id = g.member_key)"
    )
    keys = ", ".join(CUBE_KEYS)
    con.execute(
        f"create or replace table enrollment_cube as\n"
        f"select {keys}, sum(enrolments)::bigint as enrolments,\n"
        f"  sum(written_premium)::decimal(18, 2) as written_premium\n"
        f"from _enrollment_groups g where {accepted}\n"
        f"group by all order by all"
    )
    con.execute(
        "create or replace table _enrollment_members as\n"
        "select distinct policy_year, unnest(claimants) as member_id from _enrollment_groups g\n"
        f"where {accepted}\n"
        "order by all"
    )
    rows_read, rows_bad = con.execute(
        "select coalesce(sum(enrolments), 0), coalesce(sum(enrolments) filter (where not ("
        f"{accepted})), 0) from _enrollment_groups g"
    ).fetchall()[0]
    _quarantine(con, row_errors, rows_bad > 0)
    _warned(con, warnings)
    con.execute(
        "insert into _counts select 'enrollment', $read,"
        " (select count(*) from quarantine_enrollment), (select count(*) from warned_enrollment)",
        {"read": rows_read},
    )


def create_empty(con: duckdb.DuckDBPyConnection) -> None:
    """The tables ``build`` makes, empty (a folder without enrollment is refused earlier)."""
    types = {c.name: SQL_TYPE[c.kind] for c in ENROLLMENT.columns}
    keys = ", ".join(f"{k} {types[k]}" for k in CUBE_KEYS)
    con.execute(
        f"create or replace table enrollment_cube ({keys}, enrolments bigint,"
        " written_premium decimal(18, 2))"
    )
    con.execute(
        "create or replace table _enrollment_members (policy_year integer, member_id varchar)"
    )


def _claim_keys(validator: Validator, claims: TableSource | None) -> None:
    """The hashes of the claimants' (policy_year, member_id): enrollment rows whose key hashes
    to one of them list their member ID in their group; the claims rule then compares the IDs
    themselves, so a collision of hashes can never accept a claim."""
    con = validator.con
    if claims is None:
        con.execute("create temp table _claim_hashes (h ubigint)")
        return
    validator._typed_view(claims)
    con.execute(
        "create temp table _claim_hashes as select distinct hash(policy_year, member_id) as h\n"
        "from typed_claims where policy_year is not null and member_id is not null"
    )


def _duplicate_candidates(con: duckdb.DuckDBPyConnection) -> None:
    """Hashes of (policy_year, member_id) seen more than once. Sorting 8-byte hashes in numpy
    is several times faster, and far smaller, than a hash aggregate over the ID strings."""
    # Rows with a null key hash too; they never become duplicates because the exact check in
    # the groups only looks at non-null keys.
    hashes = con.execute(
        "select hash(policy_year, member_id) as h from typed_enrollment"
    ).fetchnumpy()["h"]
    hashes = np.asarray(hashes, dtype=np.uint64)
    hashes.sort()
    repeated = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
    del hashes
    candidates = pa.table({"h": pa.array(repeated, type=pa.uint64())})
    con.register("_candidate_hashes", candidates)
    con.execute("create temp table _duplicate_candidates as select h from _candidate_hashes")
    con.unregister("_candidate_hashes")


_ROW_REFERENCE = re.compile(r'\bt\.("?)([A-Za-z_:]+)\1')


def _on_keys_only(check: RuleCheck) -> bool:
    """Whether a rule reads nothing but the cube's columns: it can then be applied to the
    groups (a few hundred thousand) instead of every row (tens of millions)."""
    referenced = {name for _, name in _ROW_REFERENCE.findall(check.condition)}
    bare_flags = re.search(r'"_(null|bad):', check.condition.replace('t."_', ""))
    return bool(referenced) and referenced <= set(CUBE_KEYS) and not bare_flags


def _any_broken(checks: list[RuleCheck]) -> str:
    return " or ".join(c.broken() for c in checks) if checks else "false"


def _groups(con: duckdb.DuckDBPyConnection, row_errors: list[RuleCheck]) -> None:
    """Group the rows by the cube's columns, whether the row passes the rules that need the
    row itself, and (for candidate duplicates and claimants only) the member ID. The rules on
    the cube's columns are then applied per group, and their verdict kept as ``key_ok``."""
    per_row = [c for c in row_errors if not _on_keys_only(c)]
    per_key = [c for c in row_errors if _on_keys_only(c)]
    keys = ", ".join(f"t.{k}" for k in CUBE_KEYS)
    candidates = con.execute("select count(*) from _duplicate_candidates").fetchall()[0][0]
    # Without candidates (the usual case) the hash of every row need not be computed again.
    candidate_join = (
        "left join _duplicate_candidates c on c.h = t._key"
        if candidates
        else "left join (select null::ubigint as h) c on false"
    )
    con.execute(
        f"create temp table _row_groups as\n"
        f"select {', '.join(CUBE_KEYS)}, row_ok, raw_id, member_key,\n"
        f"  count(*) as enrolments, sum(premium - refund_amount) as written_premium,\n"
        f"  list(claimant) filter (where claimant is not null) as claimants\n"
        f"from (\n"
        f"  select {keys}, t.refund_amount,\n"
        f"    not ({_any_broken(per_row)}) as row_ok,\n"
        f"    coalesce({raw_id_sql('t.member_id')}, false) as raw_id,\n"
        # Member IDs are kept only where they matter: a candidate duplicate is its own group,
        # a claimant is listed in its group (for the claims rule).
        f"    case when c.h is not null then t.member_id end as member_key,\n"
        f"    case when k.h is not null then t.member_id end as claimant\n"
        f"  from (select *, hash(policy_year, member_id) as _key from typed_enrollment) t\n"
        f"  {candidate_join}\n"
        f"  left join _claim_hashes k on k.h = t._key\n"
        f") group by all"
    )
    con.execute(
        f"create temp table _enrollment_groups as\n"
        f"select t.*, t.row_ok and not ({_any_broken(per_key)}) as valid\n"
        f"from _row_groups t"
    )


def _typed_columns() -> str:
    return ", ".join(f"t.{quote_ident(c.name)}" for c in ENROLLMENT.columns)


def _quarantine(con: duckdb.DuckDBPyConnection, row_errors: list[RuleCheck], any_bad: bool) -> None:
    checks = [*row_errors, _DUPLICATE]
    broken = " or ".join(c.broken() for c in checks)
    where = broken if any_bad else "false"
    con.execute(
        f"create or replace table quarantine_enrollment as\n"
        f"select * exclude (_errors), {_RULES_OF_ERRORS} as _rules, _errors from (\n"
        f"  select {_typed_columns()}, t._file, t._row, {_hit_list(checks)} as _errors\n"
        f"  from typed_enrollment t\n"
        f"  left join _duplicate_keys d on d.policy_year = t.policy_year"
        f" and d.member_id = t.member_id\n"
        f"  where {where}\n"
        f") order by _file, _row"
    )


def _warned(con: duckdb.DuckDBPyConnection, warnings: list[RuleCheck]) -> None:
    where = " or ".join(c.broken() for c in warnings) if warnings else "false"
    con.execute(
        f"create or replace table warned_enrollment as\n"
        f"select {_typed_columns()}, t._file, t._row, {_hit_list(warnings)} as _warnings\n"
        f"from typed_enrollment t where {where} order by t._file, t._row"
    )

