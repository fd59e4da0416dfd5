-- One row per FHIR Condition (latest version), read through the fhir_condition ViewDefinition, with
-- its ICD-10, SNOMED CT and local codings side by side. Same columns and types as stg_hl7_condition,
-- so the two union by name; code_system/code/display is the first coding, as sent.
select
    condition_id,
    patient_id,
    encounter_id,
    code_system,
    code_code as code,
    coalesce(code_display, code_text) as display,
    icd10_code,
    snomed_code,
    snomed_display,
    code_system as source_system,
    code_code as source_code,
    code_display as source_display,
    category_code as category,
    clinical_status,
    null::varchar as diagnosis_type,
    try_cast(onset_date_time as timestamptz) as onset_at,
    try_cast(left(onset_date_time, 10) as date) as onset_date,
    try_cast(left(recorded_date, 10) as date) as recorded_date,
    try_cast(last_updated as timestamptz) as last_updated,
    _source,
    _run_id,
    _file,
    _record
from {{ ref('fhir_condition') }}
