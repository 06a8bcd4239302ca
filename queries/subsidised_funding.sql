-- name:        subsidised_funding
-- returns:     active subsidised enrolments, those whose premium the government did not pay in
--              full (a subsidy below the premium, or paid through another channel than
--              `government`), what their members paid, and the channels they paid through
-- grain:       one row per policy year, county and subsidy group with at least one active
--              subsidised enrolment paid on or before as-of
-- parameters:  $as_of (DATE): enrolments paid after it do not count yet
-- definition:  docs/metrics.md#subsidised-funding-财政资助参保
-- serves:      温医保联发〔2021〕1号 三（三）3 "其他本市特困供养人员、最低生活保障家庭成员、最低生活保障边缘
--              家庭成员……由政府资助参保，所需经费由当地财政承担"
select
    policy_year,
    county_code,
    subsidy_group,
    sum(enrolments)::bigint as enrolled,
    coalesce(sum(enrolments) filter (where not funded), 0)::bigint as not_funded,
    coalesce(sum(self_paid) filter (where not funded), 0)::decimal(18, 2) as self_paid,
    list_sort(list(distinct channel) filter (where not funded)) as channels
from subsidised_funding
where status = 'active'
  and enroll_date <= $as_of
group by policy_year, county_code, subsidy_group
order by policy_year, county_code, subsidy_group
