-- name:        subsidy_coverage
-- returns:     people entitled to subsidised enrolment, those enrolled, and the coverage
-- grain:       one row per policy year, county and subsidy group found in subsidy_eligible
-- parameters:  $as_of (DATE): enrolments paid after it do not count yet
-- definition:  docs/metrics.md#subsidised-groups-资助参保
-- serves:      明政办规〔2023〕5号 三（三）4 (特困、“五老”、低保、孤儿 "确保及时缴费投保");
--              温医保联发〔2021〕1号 三（三）3 "低收入农户以县（市、区）为单位统一参保"
with enrolled as (
    select policy_year, county_code, subsidy_group, sum(enrolments) as enrolled
    from enrollment_cube
    where status = 'active'
      and subsidy_group is not null
      and enroll_date <= $as_of
    group by policy_year, county_code, subsidy_group
),

eligible as (
    select policy_year, county_code, subsidy_group, sum(eligible_count) as eligible
    from subsidy_eligible
    group by policy_year, county_code, subsidy_group
)

select
    g.policy_year,
    g.county_code,
    g.subsidy_group,
    cast(g.eligible as bigint) as eligible,
    cast(coalesce(e.enrolled, 0) as bigint) as enrolled,
    coalesce(e.enrolled, 0) / nullif(g.eligible, 0) as coverage
from eligible as g
left join enrolled as e
    on e.policy_year = g.policy_year
    and e.county_code = g.county_code
    and e.subsidy_group = g.subsidy_group
order by g.policy_year, g.county_code, g.subsidy_group
