-- "Explain this number": for every cell of agg_condition_prevalence (a SNOMED CT condition at a GP
-- practice), the diagnoses behind it by the source and run that landed them, and the day that run
-- landed. Counts only, never rows: the records that count towards the cell and the people they belong
-- to. A cell joins to its prevalence cell on (snomed_code, practice_ods), and publishing adds totals
-- over practices that join to the prevalence total row of the same condition (is_total). A person
-- recorded by two sources or runs appears under each, so a cell's patients here add up to at least
-- its prevalence count, and exactly to it when each person's diagnoses came in one run.
with contributing as (
    -- The same facts agg_condition_prevalence counts: mapped to a concept, of a linked person whose
    -- golden record names a practice. The run comes from staging, where each fact keeps its lineage.
    select
        c.snomed_code,
        p.practice_ods,
        c.source,
        s._run_id as run_id,
        c.person_id
    from {{ ref('condition') }} c
    join {{ ref('stg_condition') }} s on s.source_record_id = c.source_record_id
    join {{ ref('person') }} p on p.person_id = c.person_id
    where c.snomed_code is not null and p.practice_ods is not null
)
select
    k.snomed_code,
    k.practice_ods,
    k.source,
    k.run_id,
    -- The run's load_date partition in raw/: the UTC day it started.
    try_cast(left(r.started_at, 10) as date) as loaded_on,
    count(*) as records,
    count(distinct k.person_id) as patients
from contributing k
-- Only cells the prevalence model has, matched on its keys (one row per condition and practice).
join {{ ref('agg_condition_prevalence') }} a on a.snomed_code = k.snomed_code and a.practice_ods = k.practice_ods
left join {{ source('ops', 'runs') }} r on r.run_id = k.run_id
group by k.snomed_code, k.practice_ods, k.source, k.run_id, r.started_at
order by k.snomed_code, k.practice_ods, k.source, k.run_id
