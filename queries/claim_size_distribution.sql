-- name:        claim_size_distribution
-- returns:     paid claims and the amounts paid, counted by the size of each payment in seven
--              fixed bands
-- grain:       one row per policy year with at least one paid claim settled on or before as-of
--              and size band: all seven bands for every such year, empty bands 0, so charts keep
--              the same bars
-- parameters:  $as_of (DATE): only claims settled on or before it count
-- definition:  docs/metrics.md#dashboard-breakdowns-仪表盘分解: paid claims settled ≤ as-of by
--              paid_amount in yuan, each band including its lower bound and excluding its upper
--              one: < 1,000; 1,000–5,000; 5,000–10,000; 10,000–50,000; 50,000–100,000;
--              100,000–500,000; ≥ 500,000. The bands of a year sum to queries/claims_paid.sql
-- serves:      湘政办发〔2024〕5号 四（六） "定期向社会公开参保、结算、收支等信息"; 沈医保发〔2021〕40号
--              三（二） "产品要具有普惠性定位，体现保大病、保重病" (do payments reach the costly cases)
with bands (bucket_order, size_bucket, min_paid, max_paid) as (
    values
        (1, '<1千', null, 1000),
        (2, '1千–5千', 1000, 5000),
        (3, '5千–1万', 5000, 10000),
        (4, '1万–5万', 10000, 50000),
        (5, '5万–10万', 50000, 100000),
        (6, '10万–50万', 100000, 500000),
        (7, '≥50万', 500000, null)
),

paid as (
    select policy_year, paid_amount
    from claims
    where status = 'paid'
      and settle_date <= $as_of
),

counted as (
    select
        p.policy_year,
        b.bucket_order,
        count(*) as paid_claims,
        sum(p.paid_amount) as claims_paid
    from paid as p
    inner join bands as b
        on (b.min_paid is null or p.paid_amount >= b.min_paid)
        and (b.max_paid is null or p.paid_amount < b.max_paid)
    group by p.policy_year, b.bucket_order
),

policy_years as (
    select distinct policy_year from paid
)

select
    y.policy_year,
    b.size_bucket,
    b.bucket_order,
    coalesce(c.paid_claims, 0) as paid_claims,
    coalesce(c.claims_paid, 0)::decimal(18, 2) as claims_paid
from policy_years as y
cross join bands as b
left join counted as c
    on c.policy_year = y.policy_year and c.bucket_order = b.bucket_order
order by y.policy_year, b.bucket_order
