-- name:        claims_development
-- returns:     claims paid by the product in each policy year and development period, not yet
--              cumulated (the paid triangle's increments; hmb.measure.development cumulates them)
-- grain:       one row per policy year and development period with at least one paid claim
--              settled on or before as-of (periods without payments are absent)
-- parameters:  $as_of (DATE): only claims settled on or before it count;
--              $months_per_period (INTEGER): 12 for a grain of years, 3 quarters, 1 months
-- definition:  docs/development.md (contract §5: period 1 is the policy year's first year,
--              quarter or month, counted from 1 January of the policy year; the chain ladder and
--              Mack's standard errors run on this triangle in Python)
-- serves:      the projected ultimate loss ratio the payout floors are judged on while a year is
--              still developing: 湘政办发〔2024〕5号 三 "给付率不低于85%"; 沈医保发〔2021〕40号 三（三）
--              "当一个保险协议期内净赔付率低于总筹资额的75%时，应重新进行产品精算". (The regulator's
--              2025-07-31 notice asking for 精算回溯 is not among the shipped documents.)
with paid as (
    select
        policy_year,
        -- months from 1 January of the policy year to the settlement month
        (year(settle_date) - policy_year) * 12 + month(settle_date) - 1 as months_in,
        paid_amount
    from claims
    where status = 'paid'
      and settle_date <= $as_of
)

select
    policy_year,
    months_in // $months_per_period + 1 as development_period,
    sum(paid_amount)::decimal(18, 2) as paid
from paid
group by policy_year, development_period
order by policy_year, development_period
