-- name:        coinsurance_shares
-- returns:     the co-insurance group of each policy year: insurer, role and share
-- grain:       one row per policy year and insurer
-- parameters:  none
-- definition:  docs/metrics.md#per-insurer-分机构 (contract §3: premium and claims are split
--              by share)
-- serves:      温医保联发〔2021〕1号 三（六）2 "择优选定5家服务能力强、经营信誉好的保险公司负责具体承办";
--              通政办发〔2021〕22号 三（三） (the five insurers of the 共保体)
select
    policy_year,
    insurer_id,
    insurer_name,
    role,
    share
from insurers
order by policy_year, insurer_id
