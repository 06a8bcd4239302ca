-- name:        personal_account_share
-- returns:     written premium paid from the medical-insurance personal account (channel
--              personal_account) and all written premium, by policy year and county
-- grain:       one row per policy year and county with an enrolment (active or cancelled) paid
--              on or before as-of, plus one whole-jurisdiction row per such policy year
--              (county_code null)
-- parameters:  $as_of (DATE): enrolments paid after it are not written yet
-- definition:  docs/metrics.md#personal-account-share-个人账户缴费占比 (an extension of contract
--              §3: written premium split by channel; the counties of a year sum to
--              queries/written_premium.sql); the share is
--              hmb.measure.indicators.PersonalAccountRow.share
-- serves:      no document sets a number for this; a published figure: 明政办规〔2023〕5号 三（三）2
--              "可使用微信、银行卡、医保个人账户、现金缴纳保费"; 通政办发〔2021〕22号 二（三）
--              "可使用不超过医保个人账户历年结余的70%…购买"; 温医保联发〔2021〕1号 三（三）2;
--              湘政办发〔2024〕5号 四（二） "允许职工基本医疗保险参保人员使用个人账户余额…购买"
with by_county as (
    select
        policy_year,
        county_code,
        coalesce(sum(written_premium) filter (where channel = 'personal_account'), 0)
            as personal_account_premium,
        sum(written_premium) as written_premium
    from enrollment_by_channel
    where enroll_date <= $as_of
    group by policy_year, county_code
),

with_totals as (
    select * from by_county
    union all
    select policy_year, null, sum(personal_account_premium), sum(written_premium)
    from by_county
    group by policy_year
)

select
    policy_year,
    county_code,
    personal_account_premium::decimal(18, 2) as personal_account_premium,
    written_premium::decimal(18, 2) as written_premium
from with_totals
order by policy_year, county_code nulls first
