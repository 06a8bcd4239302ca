-- name:        expenses_by_category
-- returns:     operating expenses reported by each insurer, by category, with the insurer's name
-- grain:       one row per policy year, insurer_id and category found in expenses
-- parameters:  none: expenses are taken as reported (a mid-year export carries year-to-date
--              figures; they are not pro-rated to the as-of date)
-- definition:  docs/metrics.md#dashboard-breakdowns-仪表盘分解 (contract §3 expenses, by
--              category); insurer_name is null when the insurer is not in that year's
--              co-insurance group (the row is kept, with a validation warning); the rows of an
--              insurer sum to queries/operating_expenses.sql
-- serves:      沈医保发〔2021〕40号 三（二） "成本及盈利率原则上控制在 20% 以内"; 温医保联发〔2021〕1号
--              三（六）4 "承办机构应合理确定年度运营服务费用，主要用于经办服务队伍建设、日常办公、
--              信息化建设、服务保障、宣传推广及管理经费等支出"
with reported as (
    select policy_year, insurer_id, category, sum(amount) as expenses
    from expenses
    group by policy_year, insurer_id, category
)

select
    r.policy_year,
    r.insurer_id,
    i.insurer_name,
    r.category,
    r.expenses::decimal(18, 2) as expenses
from reported as r
left join insurers as i
    on i.policy_year = r.policy_year and i.insurer_id = r.insurer_id
order by r.policy_year, r.insurer_id, r.category
