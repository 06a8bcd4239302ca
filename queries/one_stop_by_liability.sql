-- name:        one_stop_by_liability
-- returns:     paid claims and the amounts paid, and those settled one-stop (一站式), per
--              benefit (liability code of the rulebook)
-- grain:       one row per policy year and liability with at least one claim reported on or
--              before as-of, plus one row per such policy year for every liability
--              (liability null)
-- parameters:  $as_of (DATE): only claims paid (status paid, settle_date ≤ as-of) count
-- definition:  docs/metrics.md#one-stop-share-by-liability-分责任一站式结算占比 (an extension of
--              contract §3: claims paid split by one_stop; the year row's count share equals
--              one_stop_share of queries/settlement_speed.sql); the shares are
--              hmb.measure.indicators.OneStopRow
-- serves:      no document sets a number for this; a published figure: 通政办发〔2021〕22号
--              二（六） "一站结算，便民惠民"; 湘政办发〔2024〕5号 三 "能够实现与基本医疗保险、
--              大病保险、医疗救助“一站式”即时结算"; 温医保联发〔2021〕1号 四（二）
with known as (
    select
        policy_year,
        liability,
        one_stop,
        status = 'paid' and settle_date <= $as_of as is_paid,
        paid_amount
    from claims
    where report_date <= $as_of
),

by_liability as (
    select
        policy_year,
        liability,
        count(*) filter (where is_paid) as paid_claims,
        count(*) filter (where is_paid and one_stop) as one_stop_claims,
        coalesce(sum(paid_amount) filter (where is_paid), 0) as claims_paid,
        coalesce(sum(paid_amount) filter (where is_paid and one_stop), 0) as one_stop_paid
    from known
    group by policy_year, liability
),

with_totals as (
    select * from by_liability
    union all
    select policy_year, null, sum(paid_claims), sum(one_stop_claims), sum(claims_paid),
        sum(one_stop_paid)
    from by_liability
    group by policy_year
)

select
    policy_year,
    liability,
    cast(paid_claims as bigint) as paid_claims,
    cast(one_stop_claims as bigint) as one_stop_claims,
    claims_paid::decimal(18, 2) as claims_paid,
    one_stop_paid::decimal(18, 2) as one_stop_paid
from with_totals
order by policy_year, liability nulls first
