-- One row per FHIR Observation. Same columns and types as stg_hl7_observation, so the two union by
-- name; code_system/code/display is the first coding of Observation.code, codings all of them.
with observations as (
    select
        *,
        json_extract(resource, '$.valueQuantity') as quantity_json,
        json_extract(resource, '$.valueRange') as range_json,
        json_extract(resource, '$.valueRatio') as ratio_json,
        json_extract(resource, '$.valueCodeableConcept.coding[0]') as value_coding_json,
        list_filter(json_keys(resource), lambda k: starts_with(k, 'value'))[1] as value_key
    from {{ source('fhir', 'Observation') }}
    qualify row_number() over (partition by id order by last_updated desc nulls last, _ingested_at desc) = 1
)
select
    id as observation_id,
    null::varchar as diagnostic_report_id,
    {{ fhir_reference_id('$.subject.reference') }} as patient_id,
    {{ fhir_reference_id('$.encounter.reference') }} as encounter_id,
    json_extract_string(resource, '$.code.coding[0].system') as code_system,
    json_extract_string(resource, '$.code.coding[0].code') as code,
    json_extract_string(resource, '$.code.coding[0].display') as display,
    list_transform(json_extract(resource, '$.code.coding[*]'), lambda c: {
        'system': json_extract_string(c, '$.system'),
        'code': json_extract_string(c, '$.code'),
        'display': json_extract_string(c, '$.display')
    }) as codings,
    -- The type of value[x], as FHIR names it (Quantity, string, CodeableConcept, Range, Ratio…).
    case when value_key in ('valueString', 'valueBoolean', 'valueInteger', 'valueDateTime', 'valueTime')
        then lower(substr(value_key, 6, 1)) || substr(value_key, 7)
        else nullif(substr(value_key, 6), '')
    end as value_type,
    coalesce(json_extract_string(quantity_json, '$.comparator'), json_extract_string(range_json, '$.low.comparator')) as value_comparator,
    try_cast(coalesce(
        json_extract_string(quantity_json, '$.value'),
        json_extract_string(range_json, '$.low.value'),
        json_extract_string(ratio_json, '$.numerator.value')) as double) as value_number,
    case when range_json is not null then '-' when ratio_json is not null then ':' end as value_separator,
    try_cast(coalesce(json_extract_string(range_json, '$.high.value'), json_extract_string(ratio_json, '$.denominator.value')) as double) as value_number_2,
    coalesce(
        json_extract_string(quantity_json, '$.unit'), json_extract_string(quantity_json, '$.code'),
        json_extract_string(range_json, '$.low.unit'), json_extract_string(ratio_json, '$.numerator.unit')) as unit,
    json_extract_string(resource, '$.valueString') as value_string,
    json_extract_string(value_coding_json, '$.system') as value_code_system,
    json_extract_string(value_coding_json, '$.code') as value_code,
    coalesce(json_extract_string(value_coding_json, '$.display'), json_extract_string(resource, '$.valueCodeableConcept.text')) as value_display,
    json_extract_string(resource, '$.referenceRange[0].text') as reference_range,
    try_cast(json_extract_string(resource, '$.referenceRange[0].low.value') as double) as reference_low,
    try_cast(json_extract_string(resource, '$.referenceRange[0].high.value') as double) as reference_high,
    json_extract_string(resource, '$.interpretation[0].coding[0].code') as interpretation_code,
    json_extract_string(resource, '$.status') as status,
    try_cast(coalesce(json_extract_string(resource, '$.effectiveDateTime'), json_extract_string(resource, '$.effectivePeriod.start'), json_extract_string(resource, '$.effectiveInstant')) as timestamptz) as effective_at,
    try_cast(json_extract_string(resource, '$.issued') as timestamptz) as issued_at,
    try_cast(last_updated as timestamptz) as last_updated,
    _source,
    _run_id,
    _file,
    _record
from observations
