-- name:        settlement_lag_distribution
-- returns:     paid claims counted by days from report to settlement, in six fixed bands
-- grain:       one row per policy year with at least one paid claim settled on or before as-of
--              and lag band: all six bands for every such year, empty bands 0, so charts keep
--              the same bars
-- parameters:  $as_of (DATE): only claims settled on or before it count
-- definition:  docs/metrics.md#dashboard-breakdowns-仪表盘分解: days = settle_date − report_date
--              over paid claims settled ≤ as-of; bands 0–7, 8–15, 16–30, 31–60, 61–90 days
--              (both ends included) and more than 90 days
-- serves:      湘政办发〔2024〕5号 四（五） "以参保群众“零跑腿”为目标，建立快速给付服务机制"
with bands (bucket_order, lag_bucket, min_days, max_days) as (
    values
        (1, '0–7天', 0, 7),
        (2, '8–15天', 8, 15),
        (3, '16–30天', 16, 30),
        (4, '31–60天', 31, 60),
        (5, '61–90天', 61, 90),
        (6, '90天以上', 91, null)
),

-- Counted per day first: a few hundred (year, days) rows meet the bands, not every claim.
paid as (
    select
        policy_year,
        datediff('day', report_date, settle_date) as settle_days,
        count(*) as paid_claims
    from claims
    where status = 'paid'
      and settle_date <= $as_of
    group by all
),

counted as (
    select p.policy_year, b.bucket_order, sum(p.paid_claims)::bigint as paid_claims
    from paid as p
    inner join bands as b
        on p.settle_days >= b.min_days
        and (b.max_days is null or p.settle_days <= b.max_days)
    group by p.policy_year, b.bucket_order
),

policy_years as (
    select distinct policy_year from paid
)

select
    y.policy_year,
    b.lag_bucket,
    b.bucket_order,
    coalesce(c.paid_claims, 0) as paid_claims
from policy_years as y
cross join bands as b
left join counted as c
    on c.policy_year = y.policy_year and c.bucket_order = b.bucket_order
order by y.policy_year, b.bucket_order
