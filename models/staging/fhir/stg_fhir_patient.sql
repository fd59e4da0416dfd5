-- One row per FHIR Patient resource, latest version by meta.lastUpdated when a resource landed twice.
with ranked as (
    select
        *,
        row_number() over (partition by id order by last_updated desc nulls last, _ingested_at desc) as _version_rank
    from {{ source('fhir', 'Patient') }}
)
select
    id as patient_id,
    {{ fhir_identifier('https://fhir.nhs.uk/Id/nhs-number') }} as nhs_number,
    {{ nhs_number_valid(fhir_identifier('https://fhir.nhs.uk/Id/nhs-number')) }} as nhs_number_valid,
    json_extract_string(resource, '$.name[0].given[0]') as given_name,
    json_extract_string(resource, '$.name[0].family') as family_name,
    try_cast(json_extract_string(resource, '$.birthDate') as date) as birth_date,
    json_extract_string(resource, '$.gender') as sex,
    upper(json_extract_string(resource, '$.address[0].postalCode')) as postcode,
    {{ fhir_reference_id('$.generalPractitioner[0].reference') }} as practice_organization_id,
    _source,
    _run_id,
    _file,
    _record
from ranked
where _version_rank = 1
