-- name:        settlements_by_quarter
-- returns:     claims settled and paid by the product in each quarter, for the public disclosure
-- grain:       one row per policy year and calendar quarter of settle_date with a paid claim
-- parameters:  $as_of (DATE): only claims settled on or before it count
-- definition:  docs/brief.md#the-public-disclosure (contract §3's claims paid, by quarter)
-- serves:      湘政办发〔2024〕5号 四（六） "定期向社会公开参保、结算、收支等信息"
select
    policy_year,
    year(settle_date) as settle_year,
    quarter(settle_date) as settle_quarter,
    count(*) as claims,
    sum(paid_amount)::decimal(18, 2) as claims_paid
from claims
where status = 'paid' and settle_date <= $as_of
group by all
order by policy_year, settle_year, settle_quarter
