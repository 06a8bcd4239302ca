-- name:        claims_paid
-- returns:     claims paid by the product in each policy year
-- grain:       one row per policy year with at least one accepted claim
-- parameters:  $as_of (DATE): only claims settled on or before it count
-- definition:  docs/metrics.md#claims-paid-已付赔款 (contract §3: Σ paid_amount over paid
--              claims of the policy year with settle_date ≤ as-of)
-- serves:      the numerator of the loss ratio: 沈医保发〔2021〕40号 三（三） "当一个保险协议期内净
--              赔付率低于总筹资额的75%时，应重新进行产品精算"; 湘政办发〔2024〕5号 三 "给付率不低于85%"
select
    policy_year,
    coalesce(sum(paid_amount) filter (where status = 'paid' and settle_date <= $as_of), 0)
        ::decimal(18, 2) as claims_paid
from claims
group by policy_year
order by policy_year
