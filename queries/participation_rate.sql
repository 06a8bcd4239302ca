-- name:        participation_rate
-- returns:     members enrolled, the basic-insurance base and the participation rate
-- grain:       one row per policy year and county found in basic_insured, plus one
--              whole-jurisdiction row per policy year (county_code null)
-- parameters:  $as_of (DATE): enrolments paid after it do not count yet
-- definition:  docs/metrics.md#participation-参保率 (contract §3: enrolled, insured_base, rate)
-- serves:      明政办规〔2023〕5号 三（七）1 "各县（市、区）“三明普惠医联保”参保率不低于当地基本医保
--              缴交人数的 20%，力争达到 30%"; 三（六）3 (the city-wide 20 %/30 % tiers)
with base as (
    select policy_year, county_code, sum(insured_count) as insured_base
    from basic_insured
    group by policy_year, county_code
),

enrolled as (
    select policy_year, county_code, sum(enrolments) as enrolled
    from enrollment_cube
    where status = 'active'
      and enroll_date <= $as_of
    group by policy_year, county_code
),

by_county as (
    select
        b.policy_year,
        b.county_code,
        coalesce(e.enrolled, 0) as enrolled,
        b.insured_base
    from base as b
    left join enrolled as e
        on e.policy_year = b.policy_year and e.county_code = b.county_code
),

-- The jurisdiction figure sums both sides; it is not an average of county rates.
with_totals as (
    select policy_year, county_code, enrolled, insured_base from by_county
    union all
    select policy_year, null, sum(enrolled), sum(insured_base)
    from by_county
    group by policy_year
)

select
    policy_year,
    county_code,
    cast(enrolled as bigint) as enrolled,
    cast(insured_base as bigint) as insured_base,
    enrolled / nullif(insured_base, 0) as rate
from with_totals
order by policy_year, county_code nulls first
