-- name:        claims_by_county
-- returns:     claims paid by the product in each policy year and county
-- grain:       one row per policy year and county with at least one claim reported on or before
--              as-of (a county whose claims are all pending or denied shows 0)
-- parameters:  $as_of (DATE): only claims settled on or before it are paid; claims reported
--              after it are not known yet
-- definition:  docs/metrics.md#dashboard-breakdowns-仪表盘分解 (contract §3 claims paid, by the
--              claim's county_code); the county rows of a year sum to queries/claims_paid.sql
-- serves:      湘政办发〔2024〕5号 四（六） "定期向社会公开参保、结算、收支等信息" (settlement by
--              county)
with known as (
    select
        policy_year,
        county_code,
        status = 'paid' and settle_date <= $as_of as is_paid,
        paid_amount
    from claims
    -- A paid claim was reported no later than it was settled, so nothing paid is lost here.
    where report_date <= $as_of
)

select
    policy_year,
    county_code,
    count(*) filter (where is_paid) as paid_claims,
    coalesce(sum(paid_amount) filter (where is_paid), 0)::decimal(18, 2) as claims_paid
from known
group by policy_year, county_code
order by policy_year, county_code
