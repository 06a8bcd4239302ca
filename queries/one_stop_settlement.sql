-- name:        one_stop_settlement
-- returns:     paid claims and those not settled one-stop (一站式), with the out-of-area
--              ones among them
-- grain:       one row per policy year and liability with at least one paid claim settled
--              by the as-of date
-- parameters:  $as_of (DATE): only claims settled on or before it count
-- definition:  docs/metrics.md#one-stop-settlement-一站式结算
-- serves:      通政办发〔2021〕22号 二（六） "参保人员出院时，在基本医疗保险、大病保险、医疗救助划卡
--              结算后的自付和自费部分，直接进入“医保南通保”系统一站式结算"; 湘政办发〔2024〕5号 三
--              "能够实现与基本医疗保险、大病保险、医疗救助“一站式”即时结算"
select
    policy_year,
    liability,
    count(*)::bigint as paid_claims,
    count(*) filter (where not one_stop)::bigint as not_one_stop,
    count(*) filter (where not one_stop and not in_area)::bigint as not_one_stop_out_of_area,
    min(claim_id) filter (where not one_stop) as example_claim
from claims
where status = 'paid'
  and settle_date <= $as_of
group by policy_year, liability
order by policy_year, liability
