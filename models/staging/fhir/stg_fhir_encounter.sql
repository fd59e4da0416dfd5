-- One row per FHIR Encounter.
select
    id as encounter_id,
    {{ fhir_reference_id('$.subject.reference') }} as patient_id,
    json_extract_string(resource, '$.class.code') as class_code,
    json_extract_string(resource, '$.status') as status,
    try_cast(json_extract_string(resource, '$.period.start') as timestamptz) as period_start,
    try_cast(json_extract_string(resource, '$.period.end') as timestamptz) as period_end,
    {{ fhir_reference_id('$.serviceProvider.reference') }} as service_provider_id,
    _source,
    _run_id
from {{ source('fhir', 'Encounter') }}
qualify row_number() over (partition by id order by last_updated desc nulls last, _ingested_at desc) = 1
