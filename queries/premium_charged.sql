-- name:        premium_charged
-- returns:     how many active enrolments were charged each premium, by health status
-- grain:       one row per policy year, health_status and premium
-- parameters:  $as_of (DATE): enrolments paid after it do not count yet
-- definition:  docs/metrics.md#premium-charged-保费标准
-- serves:      明政办规〔2023〕5号 三（三）1 "保费标准：150 元/（年·人）"; 通政办发〔2021〕22号 三（一）
--              "2021年度保费标准为296元/人"; 湘政办发〔2024〕5号 三 "保费标准不高于当年我省居民基本
--              医疗保险个人缴费标准的50%，不对既往症患者单独定价"
select
    policy_year,
    health_status,
    premium,
    sum(enrolments)::bigint as enrolments
from enrollment_cube
where status = 'active'
  and enroll_date <= $as_of
group by policy_year, health_status, premium
order by policy_year, health_status, premium
