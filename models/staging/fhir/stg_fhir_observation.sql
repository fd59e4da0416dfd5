-- One row per FHIR Observation with a quantity value (lab results).
select
    id as observation_id,
    {{ fhir_reference_id('$.subject.reference') }} as patient_id,
    json_extract_string(resource, '$.code.coding[0].system') as code_system,
    json_extract_string(resource, '$.code.coding[0].code') as code,
    json_extract_string(resource, '$.code.coding[0].display') as display,
    try_cast(json_extract_string(resource, '$.valueQuantity.value') as double) as value_number,
    json_extract_string(resource, '$.valueQuantity.unit') as unit,
    try_cast(json_extract_string(resource, '$.effectiveDateTime') as timestamptz) as effective_at,
    json_extract_string(resource, '$.status') as status,
    _source,
    _run_id
from {{ source('fhir', 'Observation') }}
qualify row_number() over (partition by id order by last_updated desc nulls last, _ingested_at desc) = 1
