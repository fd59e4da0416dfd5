-- One row per FHIR Patient resource, latest version by meta.lastUpdated when a resource landed twice.
-- Same columns and types as stg_hl7_patient, so the two union by name.
with ranked as (
    select
        *,
        row_number() over (partition by id order by last_updated desc nulls last, _ingested_at desc) as _version_rank
    from {{ source('fhir', 'Patient') }}
),
patients as (
    select
        *,
        json_extract(resource, '$.identifier[*]') as identifier_json,
        list_filter(json_extract(resource, '$.identifier[*]'), lambda i: json_extract_string(i, '$.system') = 'https://fhir.nhs.uk/Id/nhs-number')[1] as nhs_identifier_json,
        list_filter(json_extract(resource, '$.identifier[*]'), lambda i: json_extract_string(i, '$.type.coding[0].code') = 'MR')[1] as mrn_identifier_json,
        {{ fhir_reference_id('$.generalPractitioner[0].reference') }} as practice_organization_id
    from ranked
    where _version_rank = 1
)
select
    p.id as patient_id,
    list_transform(p.identifier_json, lambda i: {
        'system': json_extract_string(i, '$.system'),
        'value': json_extract_string(i, '$.value'),
        'type_code': json_extract_string(i, '$.type.coding[0].code'),
        'assigner': coalesce(json_extract_string(i, '$.assigner.identifier.value'), json_extract_string(i, '$.assigner.display'))
    }) as identifiers,
    json_extract_string(p.nhs_identifier_json, '$.value') as nhs_number,
    {{ nhs_number_valid("json_extract_string(p.nhs_identifier_json, '$.value')") }} as nhs_number_valid,
    -- UK Core (and CareConnect) NHS Number Verification Status extension on the NHS number.
    json_extract_string(
        list_filter(json_extract(p.nhs_identifier_json, '$.extension[*]'), lambda e: contains(json_extract_string(e, '$.url'), 'NHSNumberVerificationStatus'))[1],
        '$.valueCodeableConcept.coding[0].code') as nhs_number_verification_status,
    json_extract_string(
        list_filter(json_extract(p.nhs_identifier_json, '$.extension[*]'), lambda e: contains(json_extract_string(e, '$.url'), 'NHSNumberVerificationStatus'))[1],
        '$.valueCodeableConcept.coding[0].code') = '01' as nhs_number_verified,
    json_extract_string(p.mrn_identifier_json, '$.value') as mrn,
    coalesce(json_extract_string(p.mrn_identifier_json, '$.assigner.identifier.value'), json_extract_string(p.mrn_identifier_json, '$.assigner.display')) as mrn_authority,
    json_extract_string(p.resource, '$.name[0].given[0]') as given_name,
    json_extract_string(p.resource, '$.name[0].given[*]') as given_names,
    json_extract_string(p.resource, '$.name[0].family') as family_name,
    json_extract_string(p.resource, '$.name[0].prefix[0]') as name_prefix,
    try_cast(json_extract_string(p.resource, '$.birthDate') as date) as birth_date,
    json_extract_string(p.resource, '$.gender') as sex,
    upper(json_extract_string(p.resource, '$.address[0].postalCode')) as postcode,
    p.practice_organization_id,
    coalesce(
        json_extract_string(list_filter(json_extract(p.resource, '$.generalPractitioner[*]'), lambda g: json_extract_string(g, '$.identifier.system') = 'https://fhir.nhs.uk/Id/ods-organization-code')[1], '$.identifier.value'),
        o.ods_code) as practice_ods,
    json_extract_string(list_filter(json_extract(p.resource, '$.generalPractitioner[*]'), lambda g: json_extract_string(g, '$.identifier.system') = 'https://fhir.hl7.org.uk/Id/gmp-number')[1], '$.identifier.value') as gp_code,
    coalesce(
        try_cast(json_extract_string(p.resource, '$.deceasedBoolean') as boolean),
        case when json_extract_string(p.resource, '$.deceasedDateTime') is not null then true end) as deceased,
    try_cast(json_extract_string(p.resource, '$.deceasedDateTime') as timestamptz) as deceased_at,
    split_part(json_extract_string(list_filter(json_extract(p.resource, '$.link[*]'), lambda l: json_extract_string(l, '$.type') = 'replaced-by')[1], '$.other.reference'), '/', -1) as replaced_by_patient_id,
    try_cast(p.last_updated as timestamptz) as last_updated,
    p._source,
    p._run_id,
    p._file,
    p._record
from patients p
left join {{ ref('stg_fhir_organization') }} o on o.organization_id = p.practice_organization_id
