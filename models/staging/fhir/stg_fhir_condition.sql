-- One row per FHIR Condition, with its ICD-10, SNOMED CT and local codings side by side.
select
    id as condition_id,
    {{ fhir_reference_id('$.subject.reference') }} as patient_id,
    {{ fhir_coding('$.code', 'http://hl7.org/fhir/sid/icd-10', 'code') }} as icd10_code,
    {{ fhir_coding('$.code', 'http://snomed.info/sct', 'code') }} as snomed_code,
    {{ fhir_coding('$.code', 'http://snomed.info/sct', 'display') }} as snomed_display,
    json_extract_string(resource, '$.code.coding[0].system') as source_system,
    json_extract_string(resource, '$.code.coding[0].code') as source_code,
    json_extract_string(resource, '$.code.coding[0].display') as source_display,
    try_cast(left(json_extract_string(resource, '$.onsetDateTime'), 10) as date) as onset_date,
    _source,
    _run_id
from {{ source('fhir', 'Condition') }}
qualify row_number() over (partition by id order by last_updated desc nulls last, _ingested_at desc) = 1
