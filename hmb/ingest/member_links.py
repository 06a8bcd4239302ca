"""Figures that follow a member: counted once per export, beside its store, without member IDs.

The store keeps enrolment aggregated (hmb.ingest.enrollment_scan), and every query reads it
through views that mask or drop member IDs (hmb.access.scoping). Four indicators
(docs/metrics.md#indicators-监管公开指标) need more: whether a member of Y − 1 enrolled again in
Y, what the member of a claim declared (healthy or pre-existing), how many distinct members were
paid, and which channel paid a premium. :func:`ensure` counts them over the accepted rows only
(the export's rows less the quarantined places) and keeps the counts, by policy year, county and
date, in a companion file of the store, ``<fingerprint>.links.duckdb``; any as-of date is applied
later, and a county's scope applies to them as to every other table:

- ``renewal_cube``: each active enrolment of Y − 1 with the enrol date of the member's active
  enrolment in Y (null when there is none), counted by Y, the county of Y − 1 and both dates;
- ``enrollment_by_channel``: written premium (premium less refund, active and cancelled rows)
  and active enrolments by policy year, county, channel and enrol date;
- ``paid_claims_by_health``: paid claims and the amounts paid, by policy year, county, the
  health status of the member's enrolment that year and settle date;
- ``claimants_by_first_payment``: members with a paid claim, by policy year, the county of
  their first paid claim and its settle date.

The counts read every enrolment row of the export once more, which at province size takes about
as long as validating it; so they are made on first use (``hmb indicators``, the pages that show
them), not with the store: ``hmb metrics`` and ``hmb check`` do not wait for them. A member who
breaks a rule is not linked: every row of a duplicated member is quarantined, and a claim
without an accepted enrolment is itself quarantined.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import duckdb

from hmb.core import duckdb_files
from hmb.core.private_files import private_file
from hmb.core.sql import quote_ident, sql_string
from hmb.ingest.dataset import Dataset, mark_used
from hmb.ingest.loading import discover
from hmb.ingest.table_checks import TableChecks, unreadable_as_input_error

TABLES = ("renewal_cube", "enrollment_by_channel", "paid_claims_by_health",
          "claimants_by_first_payment")

_EMPTY = {
    "renewal_cube": "(policy_year integer, county_code varchar, prior_enroll_date date,"
                    " enroll_date date, members bigint)",
    "enrollment_by_channel": "(policy_year integer, county_code varchar, channel varchar,"
                             " enroll_date date, enrolments bigint,"
                             " written_premium decimal(18, 2))",
    "paid_claims_by_health": "(policy_year integer, county_code varchar, health_status varchar,"
                             " settle_date date, paid_claims bigint,"
                             " claims_paid decimal(18, 2))",
    "claimants_by_first_payment": "(policy_year integer, county_code varchar,"
                                  " first_paid_date date, claimants bigint)",
}

_lock = threading.Lock()


def links_path(store: Path | str) -> Path:
    """The companion file of a store: ``<fingerprint>.links.duckdb`` beside it."""
    store = Path(store)
    return store.with_name(f"{store.stem}.links.duckdb")


def ensure(dataset: Dataset) -> Path:
    """The companion file of ``dataset``'s store, counted now if it is not there yet. Call it
    right after :func:`~hmb.ingest.dataset.open_dataset`: it reads the same export."""
    path = links_path(dataset.store)
    if path.exists():
        mark_used(path)
        return path
    with _lock:
        if not path.exists():
            _build(dataset, path)
    return path


def connect(dataset: Dataset) -> duckdb.DuckDBPyConnection:
    """The store and its companion file as one read-only view of every table, unscoped, for the
    command line and the tests (pages read through hmb.access.scoping, which attaches both)."""
    path = ensure(dataset)
    con = duckdb_files.connect()
    try:
        for catalog, file in (("store", dataset.store), ("links", path)):
            con.execute(f"attach {sql_string(str(file))} as {catalog} (read_only)")
            for (table,) in con.execute(
                "select table_name from information_schema.tables"
                " where table_catalog = $catalog and table_schema = 'main'", {"catalog": catalog}
            ).fetchall():
                name = quote_ident(str(table))
                con.execute(f"create view main.{name} as select * from {catalog}.main.{name}")
    except BaseException:
        con.close()
        raise
    return con


def _build(dataset: Dataset, path: Path) -> None:
    # Built under a private name and renamed, as the store is: a reader never sees half a file.
    partial = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    try:
        with duckdb_files.connect(partial, config={"preserve_insertion_order": False}) as con:
            con.execute(f"attach {sql_string(str(dataset.store))} as store (read_only)")
            for name, columns in _EMPTY.items():
                con.execute(f"create table main.{name} {columns}")
            _count(con, dataset)
            con.execute("detach store")
            con.execute("checkpoint")
        os.replace(private_file(partial), path)
    finally:
        for leftover in (partial, partial.with_name(partial.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _count(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> None:
    sources = discover(dataset.folder)
    source = sources.get("enrollment")
    if source is None:  # open_dataset refused the folder already
        return
    checks = TableChecks(con, sources)
    checks.private_views = True  # the views are this connection's, never written to the file
    with unreadable_as_input_error(source):
        checks._create_raw_view(source)
        checks.raw_types["enrollment"] = {
            str(name): str(kind) for name, kind in con.execute(
                "select column_name, column_type from (describe raw_enrollment)").fetchall()
        }
        checks._typed_view(source)
        _insert(con)


def _insert(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "create temp table _members as\n"
        "select t.policy_year, t.member_id, t.county_code, t.enroll_date, t.status,\n"
        "  t.health_status, t.channel,\n"
        "  (t.premium - t.refund_amount)::decimal(18, 2) as written_premium\n"
        "from typed_enrollment t\n"
        "anti join store.quarantine_enrollment q on q._file = t._file and q._row = t._row"
    )
    con.execute(
        "insert into main.renewal_cube\n"
        "with active as (\n"
        "  select policy_year, member_id, county_code, enroll_date from _members\n"
        "  where status = 'active')\n"
        "select p.policy_year + 1, p.county_code, p.enroll_date, n.enroll_date, count(*)\n"
        "from active p\n"
        "left join active n on n.member_id = p.member_id and n.policy_year = p.policy_year + 1\n"
        "group by all"
    )
    con.execute(
        "insert into main.enrollment_by_channel\n"
        "select policy_year, county_code, channel, enroll_date,\n"
        "  count(*) filter (where status = 'active'), sum(written_premium)\n"
        "from _members group by all"
    )
    con.execute(
        "insert into main.paid_claims_by_health\n"
        "select c.policy_year, c.county_code, m.health_status, c.settle_date, count(*),"
        " sum(c.paid_amount)::decimal(18, 2)\n"
        "from store.claims c\n"
        "join _members m on m.policy_year = c.policy_year and m.member_id = c.member_id\n"
        "where c.status = 'paid'\n"
        "group by all"
    )
    # A member's claims of one year are attributed to the county of the first paid one (by
    # settle date, then claim ID), so that the counties of a year add up to its members.
    con.execute(
        "insert into main.claimants_by_first_payment\n"
        "select policy_year, county_code, first_paid_date, count(*) from (\n"
        "  select policy_year, member_id,\n"
        "    arg_min(county_code, (settle_date, claim_id)) as county_code,\n"
        "    min(settle_date) as first_paid_date\n"
        "  from store.claims where status = 'paid'\n"
        "  group by policy_year, member_id)\n"
        "group by all"
    )
    con.execute("drop table _members")
