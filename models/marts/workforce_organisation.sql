-- Current ESR organisations: the trust's hierarchy with default cost centres.
select
    organisation_id,
    vpd,
    organisation_name,
    organisation_type,
    parent_organisation_id,
    default_cost_centre,
    cost_centre_description,
    nacs_code,
    effective_from,
    effective_to
from {{ ref('stg_esr_organisation') }}
