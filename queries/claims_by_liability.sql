-- name:        claims_by_liability
-- returns:     claims reported, paid and pending, the amounts paid and the eligible cost, per
--              benefit (liability code of the rulebook)
-- grain:       one row per policy year and liability with at least one claim reported on or
--              before as-of
-- parameters:  $as_of (DATE): claims reported after it are not known yet; a claim settled after
--              it was still pending on that day
-- definition:  docs/metrics.md#dashboard-breakdowns-仪表盘分解: claims = reported ≤ as-of, any
--              status; paid_claims, claims_paid and eligible_amount = status paid and
--              settle_date ≤ as-of (contract §3 claims paid); pending = reported ≤ as-of and
--              (status pending or settle_date > as-of)
-- serves:      湘政办发〔2024〕5号 四（六） "定期向社会公开参保、结算、收支等信息"; 四（四）
--              "对惠民型商业补充医疗保险的产品定价、保障责任范围、给付比例、结算方式实行动态调整"
with known as (
    select
        policy_year,
        liability,
        status = 'paid' and settle_date <= $as_of as is_paid,
        -- Decided after as-of means still open on that day, whatever the status says now.
        status = 'pending' or coalesce(settle_date > $as_of, false) as is_pending,
        eligible_amount,
        paid_amount
    from claims
    where report_date <= $as_of
)

select
    policy_year,
    liability,
    count(*) as claims,
    count(*) filter (where is_paid) as paid_claims,
    coalesce(sum(paid_amount) filter (where is_paid), 0)::decimal(18, 2) as claims_paid,
    coalesce(sum(eligible_amount) filter (where is_paid), 0)::decimal(18, 2) as eligible_amount,
    count(*) filter (where is_pending) as pending
from known
group by policy_year, liability
order by policy_year, liability
