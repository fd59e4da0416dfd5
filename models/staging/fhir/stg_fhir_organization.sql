-- Organisations (GP practices, trusts) with their ODS codes, from the fhir_organization ViewDefinition.
select
    organization_id,
    ods_code,
    name as organization_name,
    type_code as organization_type,
    _source,
    _run_id
from {{ ref('fhir_organization') }}
