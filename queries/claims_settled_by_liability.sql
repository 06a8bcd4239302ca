-- name:        claims_settled_by_liability
-- returns:     claims decided (paid or denied) on or before as-of, per liability code
-- grain:       one row per liability code found among those claims
-- parameters:  $as_of (DATE)
-- definition:  docs/claims_audit.md (contract §6: the claims an audit would take; the
--              not_audited list counts those on liabilities without an encoded benefit table)
-- serves:      三明 明政办规〔2023〕5号 三（六）2 and 南通 通政办发〔2021〕22号 三（二）: what the
--              claims audit could not recompute, and on how many claims
select
    liability,
    count(*) as claims
from claims
where status in ('paid', 'denied')
  and settle_date <= $as_of
group by liability
order by liability
