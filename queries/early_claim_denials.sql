-- name:        early_claim_denials
-- returns:     claims decided (paid or denied) and those denied, for care in the first
--              $early_days days of the policy year and for care later in the year
-- grain:       one row per policy year with at least one claim decided by the as-of date
-- parameters:  $as_of (DATE): only claims settled on or before it count;
--              $early_days (INTEGER): how many days from 1 January count as early
-- definition:  docs/metrics.md#early-denials-等待期迹象
-- serves:      湘政办发〔2024〕5号 三 "自愿参保，不限年龄、职业、户籍，无等待期，无需体检，无疾病种类、
--              既往症限制" (a waiting period would show as denials of early care)
with decided as (
    select
        policy_year,
        status = 'denied' as denied,
        service_date < make_date(policy_year, 1, 1) + to_days($early_days) as early
    from claims
    where status in ('paid', 'denied')
      and settle_date <= $as_of
)

select
    policy_year,
    count(*) filter (where early)::bigint as early_decided,
    count(*) filter (where early and denied)::bigint as early_denied,
    count(*) filter (where not early)::bigint as later_decided,
    count(*) filter (where not early and denied)::bigint as later_denied
from decided
group by policy_year
order by policy_year
