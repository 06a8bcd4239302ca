-- name:        operating_expenses
-- returns:     operating expenses reported by each insurer for each policy year
-- grain:       one row per policy year and insurer_id found in expenses
-- parameters:  none: expenses are taken as reported (a mid-year export carries year-to-date
--              figures; they are not pro-rated to the as-of date)
-- definition:  docs/metrics.md#expenses-运营费用 (contract §3)
-- serves:      the cost side of the combined ratio: 湘政办发〔2024〕5号 三 "综合成本率不高于95%";
--              沈医保发〔2021〕40号 三（二） "成本及盈利率原则上控制在 20% 以内"
select
    policy_year,
    insurer_id,
    sum(amount)::decimal(18, 2) as expenses
from expenses
group by policy_year, insurer_id
order by policy_year, insurer_id
