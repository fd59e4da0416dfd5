-- People with each condition (SNOMED CT) at each GP practice, beside the practice's registered people:
-- the true counts, which only the commissioner serving file's disclosure control may publish. A
-- person counts once per condition however many sources or diagnoses record it (linkage, then
-- distinct person), at the practice of their golden record. `long_term_condition` names the register a
-- concept belongs to (seeds/long_term_conditions.csv), NULL for other diagnoses.
with registered as (
    select practice_ods, count(*) as registered_patients
    from {{ ref('person') }}
    where practice_ods is not null
    group by practice_ods
),
affected as (
    select p.practice_ods, c.snomed_code, any_value(c.snomed_display) as condition, count(distinct c.person_id) as patients
    from {{ ref('condition') }} c
    join {{ ref('person') }} p on p.person_id = c.person_id
    where c.snomed_code is not null and p.practice_ods is not null
    group by p.practice_ods, c.snomed_code
)
select a.snomed_code, a.condition, l.long_term_condition, a.practice_ods, a.patients, r.registered_patients
from affected a
join registered r using (practice_ods)
left join {{ ref('long_term_conditions') }} l on l.snomed_code = a.snomed_code
