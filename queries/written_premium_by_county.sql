-- name:        written_premium_by_county
-- returns:     written premium (premium less refunds) and active members of each policy year
--              and county
-- grain:       one row per policy year and county with at least one enrolment (active or
--              cancelled) paid on or before as-of
-- parameters:  $as_of (DATE): enrolments paid after it are not written yet
-- definition:  docs/metrics.md#dashboard-breakdowns-仪表盘分解 (contract §3: written premium and
--              enrolled, split by the county of the member's basic insurance); the county rows
--              of a year sum to queries/written_premium.sql
-- serves:      湘政办发〔2024〕5号 四（六） "定期向社会公开参保、结算、收支等信息" (income by
--              county); 明政办规〔2023〕5号 三（七）1 (each county's enrolment is reviewed)
with written as (
    select
        policy_year,
        county_code,
        sum(written_premium) as written_premium,
        -- A cancelled policy still writes its premium less its refund, but is not a member.
        coalesce(sum(enrolments) filter (where status = 'active'), 0) as members
    from enrollment_cube
    where enroll_date <= $as_of
    group by policy_year, county_code
)

select
    policy_year,
    county_code,
    written_premium::decimal(18, 2) as written_premium,
    cast(members as bigint) as members
from written
order by policy_year, county_code
