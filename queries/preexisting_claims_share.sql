-- name:        preexisting_claims_share
-- returns:     claims paid to members enrolled with a pre-existing condition (health_status
--              preexisting), in number and amount, beside all claims paid
-- grain:       one row per policy year with at least one claim reported on or before as-of
-- parameters:  $as_of (DATE): only claims paid (status paid, settle_date ≤ as-of) count
-- definition:  docs/metrics.md#pre-existing-members-share-既往症人群赔付占比 (an extension of
--              contract §3: claims paid split by the health status of the member's accepted
--              enrolment of the policy year; the counts of paid_claims_by_health, linked when
--              the store is built); the shares are hmb.measure.indicators.PreexistingRow
-- serves:      no document sets a number for this; a published figure: 湘政办发〔2024〕5号 三
--              "对既往症患者和健康群体实行相同的保障范围、保障水平"; 通政办发〔2021〕22号 二（二）
--              "不限年龄、不限既往症"
with years as (
    select distinct policy_year
    from claims
    where report_date <= $as_of
),

paid as (
    select
        policy_year,
        sum(paid_claims) as paid_claims,
        sum(paid_claims) filter (where health_status = 'preexisting') as preexisting_claims,
        sum(claims_paid) as claims_paid,
        sum(claims_paid) filter (where health_status = 'preexisting') as preexisting_paid
    from paid_claims_by_health
    where settle_date <= $as_of
    group by policy_year
)

select
    y.policy_year,
    cast(coalesce(p.paid_claims, 0) as bigint) as paid_claims,
    cast(coalesce(p.preexisting_claims, 0) as bigint) as preexisting_claims,
    coalesce(p.claims_paid, 0)::decimal(18, 2) as claims_paid,
    coalesce(p.preexisting_paid, 0)::decimal(18, 2) as preexisting_paid
from years as y
left join paid as p on p.policy_year = y.policy_year
order by y.policy_year
