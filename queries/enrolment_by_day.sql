-- name:        enrolment_by_day
-- returns:     active enrolments paid each day, per policy year and county
-- grain:       one row per policy year, county and enroll_date (days with no enrolment absent)
-- parameters:  $as_of (DATE): enrolments paid after it are not known yet
-- definition:  docs/metrics.md#enrolment-campaign-参保进度 (campaign progress, run rate,
--              window, late enrolments)
-- serves:      明政办规〔2023〕5号 三（四） "2023年12月31日前为2024年“三明普惠医联保”集中参保缴费时间";
--              温医保联发〔2021〕1号 三（七）4 "原则上投保期不超过 2 个月"; 三（七）1 (county
--              participation, projected during the campaign)
select
    policy_year,
    county_code,
    enroll_date,
    sum(enrolments)::bigint as enrolled
from enrollment_cube
where status = 'active'
  and enroll_date <= $as_of
group by policy_year, county_code, enroll_date
order by policy_year, county_code, enroll_date
