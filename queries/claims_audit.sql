-- name:        claims_audit
-- returns:     every audited claim with what the benefit table says it should have paid
--              (payable), the difference paid_amount − payable, the terms of the arithmetic
--              (deductible taken, ratio, cap room) and the reason a mispaid claim is off
-- grain:       one row per accepted claim with status paid or denied, settled on or before
--              as-of, on a liability whose row of the benefit table the rulebook encodes
-- parameters:  $as_of (DATE); the rulebook's benefit table, one list element per row:
--              $liabilities (VARCHAR[]), $deductibles (DOUBLE[], yuan), $annual (BOOLEAN[]:
--              年免赔额 / 按年 when true, 按次 when false), $ratios_healthy, $ratios_preexisting,
--              $ratios_assisted_preexisting (DOUBLE[], fractions; null where the document has no
--              exception), $caps_healthy, $caps_preexisting (DOUBLE[], yuan a year);
--              $assisted_groups (VARCHAR[]): the subsidy groups read as 救助对象
-- definition:  docs/claims_audit.md (contract §6): per member, policy year and liability, in
--              order of service_date then claim_id, the deductible is consumed first (an annual
--              one once, a per-claim one on every claim), then the ratio of the member's
--              health status applies, then the annual cap limits the running total of payables;
--              each payable is rounded to the fen, half up, in DECIMAL (never DOUBLE)
-- serves:      三明 明政办规〔2023〕5号 三（六）2 (the benefit table: 年免赔额 0.5万元 / 2万元,
--              赔偿比例 100% 70% 70% healthy, 50% 30% / pre-existing, 保险金额 150万元 / 3万元) and
--              三（六）4 (救助对象特定既往症人群: 责任一 100%, 责任二 80%); 南通 通政办发〔2021〕22号
--              三（二）1-3, 5 (按次扣除8000元免赔额, 赔付比例为70%, 10种既往症人群 50%, 年度保额为
--              100万元 / 50万元, 按年扣除1万元免赔额)
with benefit_table as (
    -- the lists are zipped element by element: one row of the table per liability
    select
        unnest($liabilities::varchar[]) as liability,
        unnest($deductibles::double[])::decimal(18, 2) as deductible,
        unnest($annual::boolean[]) as annual_deductible,
        unnest($ratios_healthy::double[])::decimal(9, 6) as ratio_healthy,
        unnest($ratios_preexisting::double[])::decimal(9, 6) as ratio_preexisting,
        unnest($ratios_assisted_preexisting::double[])::decimal(9, 6)
            as ratio_assisted_preexisting,
        unnest($caps_healthy::double[])::decimal(18, 2) as cap_healthy,
        unnest($caps_preexisting::double[])::decimal(18, 2) as cap_preexisting
),

audited as (
    select
        c.claim_id,
        c.member_id,
        e.member_number,
        c.policy_year,
        c.county_code,
        c.liability,
        c.service_date,
        c.status,
        c.eligible_amount::decimal(18, 2) as eligible,
        c.paid_amount::decimal(18, 2) as paid,
        e.health_status,
        coalesce(list_contains($assisted_groups::varchar[], e.subsidy_group), false)
            as assisted,
        t.deductible,
        t.annual_deductible,
        case
            when e.health_status <> 'preexisting' then t.ratio_healthy
            -- 三明 三（六）4: assisted persons with pre-existing conditions
            when e.subsidy_group is not null
                and list_contains($assisted_groups::varchar[], e.subsidy_group)
                and t.ratio_assisted_preexisting is not null
                then t.ratio_assisted_preexisting
            else t.ratio_preexisting
        end as ratio,
        case
            when e.health_status = 'preexisting' then t.cap_preexisting
            else t.cap_healthy
        end as cap
    from claims as c
    inner join benefit_table as t on c.liability = t.liability
    -- every accepted claim has its member's accepted enrolment of the year (contract §2); the
    -- store keeps its health status and subsidy group by claim, and numbers the members, whose
    -- IDs a page sees masked (hmb.ingest.dataset)
    inner join claimant_terms as e on c.claim_id = e.claim_id
    where c.status in ('paid', 'denied')
      and c.settle_date <= $as_of
),

deductible_taken as (
    select
        *,
        -- eligible cost of the member's earlier claims of the year on this liability
        coalesce(sum(eligible) over earlier, 0) as eligible_before
    from audited
    window earlier as (
        partition by member_number, policy_year, liability
        order by service_date, claim_id
        rows between unbounded preceding and 1 preceding
    )
),

ratio_applied as (
    select
        *,
        case
            when annual_deductible
                then least(eligible, greatest(deductible - eligible_before, 0))
            else least(eligible, deductible)
        end as deductible_applied
    from deductible_taken
),

before_cap as (
    select
        *,
        round((eligible - deductible_applied) * ratio, 2) as uncapped
    from ratio_applied
),

capped as (
    select
        *,
        -- payables already rounded, so the running total is in fen
        coalesce(sum(uncapped) over earlier, 0) as uncapped_before
    from before_cap
    window earlier as (
        partition by member_number, policy_year, liability
        order by service_date, claim_id
        rows between unbounded preceding and 1 preceding
    )
),

payable as (
    select
        *,
        greatest(cap - least(uncapped_before, cap), 0) as cap_room,
        least(uncapped_before + uncapped, cap) - least(uncapped_before, cap) as payable
    from capped
)

select
    claim_id,
    member_id,
    policy_year,
    county_code,
    liability,
    service_date,
    status,
    health_status,
    assisted,
    eligible,
    deductible,
    annual_deductible,
    deductible_applied,
    ratio,
    cap,
    cap_room,
    uncapped,
    paid as paid_amount,
    payable,
    paid - payable as difference,
    case
        when abs(paid - payable) < 0.01 then null
        when status = 'denied' then 'denied but payable'
        when paid > payable and uncapped > payable then 'annual cap'
        -- paid as if no deductible were left to take, or as if a fresh one were taken
        when deductible_applied > 0
            and paid = least(round(eligible * ratio, 2), cap_room)
            then case when annual_deductible then 'annual deductible'
                else 'per-claim deductible' end
        when annual_deductible and deductible_applied < least(eligible, deductible)
            and paid = least(
                round(greatest(eligible - deductible, 0) * ratio, 2), cap_room
            )
            then 'annual deductible'
        when eligible > deductible_applied and paid > 0 then 'ratio'
        else 'amount'
    end as reason
from payable
