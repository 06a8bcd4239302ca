-- name:        renewal_rate
-- returns:     members with an active enrolment in the year before (prior_members) and how many
--              of them hold an active enrolment in the policy year (renewed), by the county of
--              the year before
-- grain:       one row per policy year with an enrolment paid on or before as-of and county
--              of an active enrolment of the year before paid on or before as-of, plus one
--              whole-jurisdiction row per such policy year (county_code null; 0 and 0 in the
--              first year of the data)
-- parameters:  $as_of (DATE): enrolments paid after it, in either year, do not count yet
-- definition:  docs/metrics.md#renewal-rate-续保率 (an extension of contract §3: enrolled(Y − 1)
--              followed by member_id into Y; the counts of renewal_cube, linked when the store
--              is built); the rate is hmb.measure.indicators.RenewalRow.rate
-- serves:      no document sets a number for this; a published figure: 湘政办发〔2024〕5号
--              四（六） "定期向社会公开参保、结算、收支等信息"; 明政办规〔2023〕5号 三（三）3
--              "经参保人员确认同意今后年度自动续保委托代扣代缴的，次年开始…给予办理续保相关手续"
with years as (
    select distinct policy_year
    from enrollment_cube
    where enroll_date <= $as_of
),

by_county as (
    select
        r.policy_year,
        r.county_code,
        sum(r.members) as prior_members,
        -- Renewed by as-of: the enrolment of the policy year is paid too.
        coalesce(sum(r.members) filter (where r.enroll_date <= $as_of), 0) as renewed
    from renewal_cube as r
    semi join years as y on y.policy_year = r.policy_year
    where r.prior_enroll_date <= $as_of
    group by r.policy_year, r.county_code
),

with_totals as (
    select policy_year, county_code, prior_members, renewed from by_county
    union all
    select y.policy_year, null, coalesce(sum(b.prior_members), 0), coalesce(sum(b.renewed), 0)
    from years as y
    left join by_county as b on b.policy_year = y.policy_year
    group by y.policy_year
)

select
    policy_year,
    county_code,
    cast(prior_members as bigint) as prior_members,
    cast(renewed as bigint) as renewed
from with_totals
order by policy_year, county_code nulls first
