-- name:        claimants
-- returns:     members with at least one paid claim (claimants), the paid claims and the claims
--              paid, per policy year
-- grain:       one row per policy year with at least one claim reported on or before as-of
-- parameters:  $as_of (DATE): only claims paid (status paid, settle_date ≤ as-of) count
-- definition:  docs/metrics.md#claimants-and-payout-per-claimant-赔付人数与人均赔付 (an extension
--              of contract §3: distinct members among the claims paid; claims_paid equals
--              queries/claims_paid.sql); payout per claimant is
--              hmb.measure.indicators.ClaimantRow.payout_per_claimant
-- serves:      no document sets a number for this; a published figure: 湘政办发〔2024〕5号
--              四（六） "定期向社会公开参保、结算、收支等信息"
with years as (
    select
        policy_year,
        count(*) filter (where status = 'paid' and settle_date <= $as_of) as paid_claims,
        coalesce(sum(paid_amount) filter (where status = 'paid' and settle_date <= $as_of), 0)
            as claims_paid
    from claims
    where report_date <= $as_of
    group by policy_year
),

-- A member counts once a year, from the day the first of her claims is paid.
claimants as (
    select policy_year, sum(claimants) as claimants
    from claimants_by_first_payment
    where first_paid_date <= $as_of
    group by policy_year
)

select
    y.policy_year,
    cast(coalesce(c.claimants, 0) as bigint) as claimants,
    cast(y.paid_claims as bigint) as paid_claims,
    y.claims_paid::decimal(18, 2) as claims_paid
from years as y
left join claimants as c on c.policy_year = y.policy_year
order by y.policy_year
