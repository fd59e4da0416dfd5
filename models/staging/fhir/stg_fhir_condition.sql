-- One row per FHIR Condition, with its ICD-10, SNOMED CT and local codings side by side. Same columns
-- and types as stg_hl7_condition, so the two union by name; code_system/code/display is the first coding.
select
    id as condition_id,
    {{ fhir_reference_id('$.subject.reference') }} as patient_id,
    {{ fhir_reference_id('$.encounter.reference') }} as encounter_id,
    json_extract_string(resource, '$.code.coding[0].system') as code_system,
    json_extract_string(resource, '$.code.coding[0].code') as code,
    coalesce(json_extract_string(resource, '$.code.coding[0].display'), json_extract_string(resource, '$.code.text')) as display,
    {{ fhir_coding('$.code', 'http://hl7.org/fhir/sid/icd-10', 'code') }} as icd10_code,
    {{ fhir_coding('$.code', 'http://snomed.info/sct', 'code') }} as snomed_code,
    {{ fhir_coding('$.code', 'http://snomed.info/sct', 'display') }} as snomed_display,
    json_extract_string(resource, '$.code.coding[0].system') as source_system,
    json_extract_string(resource, '$.code.coding[0].code') as source_code,
    json_extract_string(resource, '$.code.coding[0].display') as source_display,
    json_extract_string(resource, '$.category[0].coding[0].code') as category,
    json_extract_string(resource, '$.clinicalStatus.coding[0].code') as clinical_status,
    null::varchar as diagnosis_type,
    try_cast(json_extract_string(resource, '$.onsetDateTime') as timestamptz) as onset_at,
    try_cast(left(json_extract_string(resource, '$.onsetDateTime'), 10) as date) as onset_date,
    try_cast(left(json_extract_string(resource, '$.recordedDate'), 10) as date) as recorded_date,
    try_cast(last_updated as timestamptz) as last_updated,
    _source,
    _run_id,
    _file,
    _record
from {{ source('fhir', 'Condition') }}
qualify row_number() over (partition by id order by last_updated desc nulls last, _ingested_at desc) = 1
