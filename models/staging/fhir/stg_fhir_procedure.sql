-- One row per FHIR Procedure (latest version), read through the fhir_procedure ViewDefinition. Same
-- columns and types as stg_hl7_procedure, so the two union by name; code_system/code/display is the
-- first coding, as sent, and snomed_code the SNOMED CT coding when one was sent.
select
    procedure_id,
    patient_id,
    encounter_id,
    code_system,
    code_code as code,
    coalesce(code_display, code_text) as display,
    snomed_code,
    snomed_display,
    status,
    category_code as category,
    try_cast(coalesce(performed_date_time, performed_period_start) as timestamptz) as performed_at,
    try_cast(performed_period_end as timestamptz) as performed_end_at,
    performer_practitioner_id,
    try_cast(last_updated as timestamptz) as last_updated,
    _source,
    _run_id,
    _file,
    _record
from {{ ref('fhir_procedure') }}
