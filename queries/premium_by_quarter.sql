-- name:        premium_by_quarter
-- returns:     enrolments and written premium in each quarter of payment, for the public
--              disclosure
-- grain:       one row per policy year and calendar quarter of enroll_date
-- parameters:  $as_of (DATE): only enrolments paid on or before it count
-- definition:  docs/brief.md#the-public-disclosure (contract §3's written premium, by quarter)
-- serves:      湘政办发〔2024〕5号 四（六） "定期向社会公开参保、结算、收支等信息"
select
    policy_year,
    year(enroll_date) as enroll_year,
    quarter(enroll_date) as enroll_quarter,
    sum(enrolments)::bigint as enrolments,
    sum(written_premium)::decimal(18, 2) as written_premium
from enrollment_cube
where enroll_date <= $as_of
group by all
order by policy_year, enroll_year, enroll_quarter
