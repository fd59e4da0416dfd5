-- Organisations (GP practices, trusts) with their ODS codes.
select
    id as organization_id,
    {{ fhir_identifier('https://fhir.nhs.uk/Id/ods-organization-code') }} as ods_code,
    json_extract_string(resource, '$.name') as organization_name,
    json_extract_string(resource, '$.type[0].coding[0].code') as organization_type,
    _source,
    _run_id
from {{ source('fhir', 'Organization') }}
qualify row_number() over (partition by id order by last_updated desc nulls last, _ingested_at desc) = 1
