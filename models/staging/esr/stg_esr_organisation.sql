-- Current ESR organisations (the trust's hierarchy), each with its default cost centre.
with current_organisation as (
    {{ esr_current(source('esr', 'organisation'), 'org_id', ref('stg_esr_go_file')) }}
)
select
    _vpd as vpd,
    org_id as organisation_id,
    org_name as organisation_name,
    org_type as organisation_type,
    parent_org_id as parent_organisation_id,
    default_cost_centre,
    cost_centre_description,
    nacs_code,
    location_id,
    effective_from,
    nullif(effective_to, date '4712-12-31') as effective_to,
    last_update_at,
    _file_sequence as file_sequence,
    _file_date as file_date,
    _source,
    _run_id
from current_organisation
