-- name:        settlement_speed
-- returns:     how fast paid claims were settled (median and 90th percentile of days from
--              report to settlement), the one-stop share, and the backlog still pending
-- grain:       one row per policy year with at least one claim reported on or before as-of
-- parameters:  $as_of (DATE): claims reported after it are not known yet; a claim settled after
--              it was still pending on that day
-- definition:  docs/metrics.md#dashboard-breakdowns-仪表盘分解: days = settle_date − report_date
--              over paid claims settled ≤ as-of; median_days and p90_days use quantile_cont
--              (linear interpolation between neighbouring claims, as numpy's default and
--              Excel's PERCENTILE.INC), so a median of 10 and 15 days is 12.5; one_stop_share =
--              one-stop paid claims / paid claims (null when none); pending_claims = reported ≤
--              as-of and (status pending or settle_date > as-of); oldest_pending_days = as-of −
--              the earliest report_date among them (null when none)
-- serves:      湘政办发〔2024〕5号 四（五） "以参保群众“零跑腿”为目标，建立快速给付服务机制";
--              温医保联发〔2021〕1号 四（二） "为实行基本医疗保险、大病保险、医疗救助和全民商业
--              补充医疗保险赔付“一站式”结算提供技术支持"
with known as (
    select
        policy_year,
        report_date,
        one_stop,
        status = 'paid' and settle_date <= $as_of as is_paid,
        status = 'pending' or coalesce(settle_date > $as_of, false) as is_pending,
        datediff('day', report_date, settle_date) as settle_days
    from claims
    where report_date <= $as_of
)

select
    policy_year,
    count(*) filter (where is_paid) as paid_claims,
    quantile_cont(settle_days, 0.5) filter (where is_paid) as median_days,
    quantile_cont(settle_days, 0.9) filter (where is_paid) as p90_days,
    count(*) filter (where is_paid and one_stop)
        / nullif(count(*) filter (where is_paid), 0) as one_stop_share,
    count(*) filter (where is_pending) as pending_claims,
    datediff('day', min(report_date) filter (where is_pending), $as_of::date)
        as oldest_pending_days
from known
group by policy_year
order by policy_year
