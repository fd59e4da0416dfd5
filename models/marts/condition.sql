-- Diagnoses from GP records (ICD-10, SNOMED CT, local codes) and hospital DG1 segments (usually ICD-10).
-- The union of the sources, with each patient's NHS number, is stg_condition.
select
    x.person_id,
    c.source_kind,
    nhs_number,
    icd10_code,
    snomed_code,
    snomed_display,
    source_system,
    source_code,
    year(onset_date) as onset_year
from {{ ref('stg_condition') }} c
left join {{ ref('person_xref') }} x on x.source_record_id = c.patient_record_id
