-- Diagnoses from GP records (ICD-10, SNOMED CT, local codes) and hospital DG1 segments (usually ICD-10).
with conditions as (
    select 'fhir' as source_kind, c.*, p.nhs_number
    from {{ ref('stg_fhir_condition') }} c
    left join {{ ref('stg_fhir_patient') }} p using (patient_id)
    union all by name
    select 'hl7' as source_kind, c.*, p.nhs_number
    from {{ ref('stg_hl7_condition') }} c
    left join {{ ref('stg_hl7_patient') }} p using (patient_id)
)
select
    source_kind,
    nhs_number,
    icd10_code,
    snomed_code,
    snomed_display,
    source_system,
    source_code,
    year(onset_date) as onset_year
from conditions
