-- name:        claims_by_month
-- returns:     claims paid by the product in each calendar month of settlement, per policy year
-- grain:       one row per policy year and settlement month with at least one paid claim settled
--              on or before as-of (months without payments are absent)
-- parameters:  $as_of (DATE): only claims settled on or before it count
-- definition:  docs/metrics.md#dashboard-breakdowns-仪表盘分解 (contract §3 claims paid, by the
--              month of settle_date); the months of a year sum to queries/claims_paid.sql
-- serves:      湘政办发〔2024〕5号 四（六） "要加强信息披露、跟踪监测和运行分析，定期向社会公开参保、
--              结算、收支等信息"
with paid as (
    select
        policy_year,
        cast(date_trunc('month', settle_date) as date) as settle_month,
        paid_amount
    from claims
    where status = 'paid'
      and settle_date <= $as_of
)

select
    policy_year,
    settle_month,
    sum(paid_amount)::decimal(18, 2) as claims_paid,
    count(*) as paid_claims
from paid
group by policy_year, settle_month
order by policy_year, settle_month
