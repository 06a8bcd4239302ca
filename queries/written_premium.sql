-- name:        written_premium
-- returns:     written premium (premium less refunds) of each policy year
-- grain:       one row per policy year found in enrollment or insurers
-- parameters:  $as_of (DATE): premiums paid after it are not written yet
-- definition:  docs/metrics.md#written-premium-签单保费 (contract §3: Σ premium − refund_amount
--              over active and cancelled enrolments with enroll_date ≤ as-of)
-- serves:      the premium income every ratio is measured against: 湘政办发〔2024〕5号 三
--              "综合成本率不高于95%，其中给付率不低于85%"; 通政办发〔2021〕22号 二（五）
with policy_years as (
    select distinct policy_year from enrollment_cube
    union
    select distinct policy_year from insurers
),

written as (
    select policy_year, sum(written_premium) as written_premium
    from enrollment_cube
    where enroll_date <= $as_of
    group by policy_year
)

select
    y.policy_year,
    coalesce(w.written_premium, 0)::decimal(18, 2) as written_premium
from policy_years as y
left join written as w on w.policy_year = y.policy_year
order by y.policy_year
