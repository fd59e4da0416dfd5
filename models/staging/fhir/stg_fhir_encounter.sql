-- One row per FHIR Encounter (latest version), read through the fhir_encounter ViewDefinitions.
-- Same columns and types as stg_hl7_encounter, so the two union by name.
with visit_numbers as (
    -- The visit number is the identifier typed VN, else the first identifier: a choice between
    -- the rows of fhir_encounter_identifier, which FHIRPath's subset cannot express as one column.
    select
        encounter_id,
        value as visit_number,
        coalesce(assigner_code, system) as visit_number_authority
    from {{ ref('fhir_encounter_identifier') }}
    qualify row_number() over (partition by encounter_id order by coalesce(type_code = 'VN', false) desc, identifier_index) = 1
),
locations as (
    -- `locations` is a list of STRUCTs, which a ViewDefinition column cannot hold: one row per
    -- Encounter.location in fhir_encounter_location, folded back here in the order sent; the
    -- encounter's `location` is the last of them.
    select
        encounter_id,
        list({
            'location': coalesce(location_display, location_id),
            'site': null::varchar,
            'period_start': try_cast(period_start as timestamptz)
        } order by location_index) as locations,
        list(coalesce(location_display, location_id) order by location_index)[-1] as location
    from {{ ref('fhir_encounter_location') }}
    group by encounter_id
)
select
    e.encounter_id,
    v.visit_number,
    v.visit_number_authority,
    e.patient_id,
    e.class_code,
    e.class_system,
    e.status,
    try_cast(e.period_start as timestamptz) as period_start,
    try_cast(e.period_end as timestamptz) as period_end,
    l.location,
    null::varchar as location_site,
    coalesce(l.locations, []) as locations,
    e.admit_source_code,
    e.discharge_disposition_code,
    e.service_provider_id,
    o.ods_code as service_provider_ods,
    try_cast(e.last_updated as timestamptz) as last_updated,
    e._source,
    e._run_id,
    e._file,
    e._record
from {{ ref('fhir_encounter') }} e
left join visit_numbers v on v.encounter_id = e.encounter_id
left join locations l on l.encounter_id = e.encounter_id
left join {{ ref('stg_fhir_organization') }} o on o.organization_id = e.service_provider_id
