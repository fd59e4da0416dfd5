-- Diagnoses from GP records (ICD-10, SNOMED CT, local codes) and hospital DG1 segments (ICD-10).
select
    'fhir' as source_kind,
    p.nhs_number,
    c.icd10_code,
    c.snomed_code,
    c.snomed_display,
    c.source_system,
    c.source_code,
    year(c.onset_date) as onset_year
from {{ ref('stg_fhir_condition') }} c
left join {{ ref('stg_fhir_patient') }} p using (patient_id)
union all
select
    'hl7',
    nhs_number,
    case when coding_system in ('I10', 'ICD10', 'ICD-10') then code end,
    null,
    null,
    coding_system,
    code,
    year(diagnosed_at)
from {{ ref('stg_hl7_diagnosis') }}
