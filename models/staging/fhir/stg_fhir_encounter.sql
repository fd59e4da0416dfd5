-- One row per FHIR Encounter. Same columns and types as stg_hl7_encounter, so the two union by name.
with encounters as (
    select
        *,
        list_filter(json_extract(resource, '$.identifier[*]'), lambda i: json_extract_string(i, '$.type.coding[0].code') = 'VN')[1] as visit_identifier_json,
        json_extract(resource, '$.location[*]') as location_json,
        {{ fhir_reference_id('$.serviceProvider.reference') }} as service_provider_id
    from {{ source('fhir', 'Encounter') }}
    qualify row_number() over (partition by id order by last_updated desc nulls last, _ingested_at desc) = 1
)
select
    e.id as encounter_id,
    json_extract_string(coalesce(e.visit_identifier_json, json_extract(e.resource, '$.identifier[0]')), '$.value') as visit_number,
    coalesce(
        json_extract_string(coalesce(e.visit_identifier_json, json_extract(e.resource, '$.identifier[0]')), '$.assigner.identifier.value'),
        json_extract_string(coalesce(e.visit_identifier_json, json_extract(e.resource, '$.identifier[0]')), '$.system')) as visit_number_authority,
    {{ fhir_reference_id('$.subject.reference') }} as patient_id,
    json_extract_string(e.resource, '$.class.code') as class_code,
    json_extract_string(e.resource, '$.class.system') as class_system,
    json_extract_string(e.resource, '$.status') as status,
    try_cast(json_extract_string(e.resource, '$.period.start') as timestamptz) as period_start,
    try_cast(json_extract_string(e.resource, '$.period.end') as timestamptz) as period_end,
    coalesce(json_extract_string(e.location_json[-1], '$.location.display'), split_part(json_extract_string(e.location_json[-1], '$.location.reference'), '/', -1)) as location,
    null::varchar as location_site,
    list_transform(e.location_json, lambda l: {
        'location': coalesce(json_extract_string(l, '$.location.display'), split_part(json_extract_string(l, '$.location.reference'), '/', -1)),
        'site': null::varchar,
        'period_start': try_cast(json_extract_string(l, '$.period.start') as timestamptz)
    }) as locations,
    json_extract_string(e.resource, '$.hospitalization.admitSource.coding[0].code') as admit_source_code,
    json_extract_string(e.resource, '$.hospitalization.dischargeDisposition.coding[0].code') as discharge_disposition_code,
    e.service_provider_id,
    o.ods_code as service_provider_ods,
    try_cast(e.last_updated as timestamptz) as last_updated,
    e._source,
    e._run_id,
    e._file,
    e._record
from encounters e
left join {{ ref('stg_fhir_organization') }} o on o.organization_id = e.service_provider_id
