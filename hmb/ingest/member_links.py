"""Figures that follow a member: kept in the store as counts, without member IDs.

The store keeps enrolment aggregated (hmb.ingest.enrollment_scan), and the pages read it through
views that mask or drop member IDs (hmb.access.scoping). Four figures need the member ID itself
(docs/metrics.md#indicators-监管公开指标): whether a member of Y − 1 enrolled again in Y, what
the member of a claim declared (healthy or pre-existing), how many distinct members were paid,
and which channel paid a premium. They are linked here, once, when the store is built, over the
accepted rows only (the export's rows less the quarantined places), and kept as counts by policy
year, county and date, so that any as-of date can be applied later and the scope of a county
applies to them like to every other table:

- ``renewal_cube``: each active enrolment of Y − 1 with the enrol date of the member's active
  enrolment in Y (null when there is none), counted by Y, the county of Y − 1 and both dates;
- ``enrollment_by_channel``: written premium (premium less refund, active and cancelled rows)
  and active enrolments by policy year, county, channel and enrol date;
- ``paid_claims_by_health``: paid claims and the amounts paid, by policy year, county, the
  health status of the member's enrolment that year and settle date;
- ``claimants_by_first_payment``: members with a paid claim, by policy year, the county of
  their first paid claim and its settle date.

A member who breaks a rule is not linked: every row of a duplicated member is quarantined, and a
claim without an accepted enrolment is itself quarantined.
"""

from __future__ import annotations

from hmb.ingest.table_checks import TableChecks

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


def build(validator: TableChecks) -> None:
    """Add the four tables to the store ``validator`` builds, after enrollment and claims."""
    con = validator.con
    for name, columns in _EMPTY.items():
        con.execute(f"create or replace table {name} {columns}")
    source = validator.sources.get("enrollment")
    if source is None:
        return
    # The enrollment scan narrowed the views to one year at a time: read every file again.
    validator._create_raw_view(source)
    validator._typed_view(source)
    con.execute(
        "create or replace temp table _members as\n"
        "select t.policy_year, t.member_id, t.county_code, t.enroll_date, t.status,\n"
        "  t.health_status, t.channel,\n"
        "  (t.premium - t.refund_amount)::decimal(18, 2) as written_premium\n"
        "from typed_enrollment t\n"
        "anti join quarantine_enrollment q on q._file = t._file and q._row = t._row"
    )
    con.execute(
        "insert into renewal_cube\n"
        "with active as (\n"
        "  select policy_year, member_id, county_code, enroll_date from _members\n"
        "  where status = 'active')\n"
        "select p.policy_year + 1, p.county_code, p.enroll_date, n.enroll_date, count(*)\n"
        "from active p\n"
        "left join active n on n.member_id = p.member_id and n.policy_year = p.policy_year + 1\n"
        "group by all order by all"
    )
    con.execute(
        "insert into enrollment_by_channel\n"
        "select policy_year, county_code, channel, enroll_date,\n"
        "  count(*) filter (where status = 'active'), sum(written_premium)\n"
        "from _members group by all order by all"
    )
    con.execute(
        "insert into paid_claims_by_health\n"
        "select c.policy_year, c.county_code, m.health_status, c.settle_date, count(*),"
        " sum(c.paid_amount)::decimal(18, 2)\n"
        "from claims c\n"
        "join _members m on m.policy_year = c.policy_year and m.member_id = c.member_id\n"
        "where c.status = 'paid'\n"
        "group by all order by all"
    )
    # A member's claims of one year are attributed to the county of the first paid one (by
    # settle date, then claim ID), so that the counties of a year add up to its members.
    con.execute(
        "insert into claimants_by_first_payment\n"
        "select policy_year, county_code, first_paid_date, count(*) from (\n"
        "  select policy_year, member_id,\n"
        "    arg_min(county_code, (settle_date, claim_id)) as county_code,\n"
        "    min(settle_date) as first_paid_date\n"
        "  from claims where status = 'paid'\n"
        "  group by policy_year, member_id)\n"
        "group by all order by all"
    )
    con.execute("drop table _members")
