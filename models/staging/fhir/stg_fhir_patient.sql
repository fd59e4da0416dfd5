-- One row per FHIR Patient resource (latest version), read through the fhir_patient ViewDefinition.
-- Same columns and types as stg_hl7_patient, so the two union by name.
with identifiers as (
    -- `identifiers` is a list of STRUCTs, which a ViewDefinition column cannot hold: the
    -- fhir_patient_identifier view has one row per Patient.identifier, folded back here in the
    -- order sent (identifier_index, from %rowIndex).
    select
        patient_id,
        list({
            'system': system,
            'value': value,
            'type_code': type_code,
            'assigner': coalesce(assigner_code, assigner_display)
        } order by identifier_index) as identifiers
    from {{ ref('fhir_patient_identifier') }}
    group by patient_id
)
select
    p.patient_id,
    coalesce(i.identifiers, []) as identifiers,
    p.nhs_number,
    {{ nhs_number_valid('p.nhs_number') }} as nhs_number_valid,
    -- UK Core (and CareConnect) NHS Number Verification Status extension on the NHS number.
    p.nhs_number_verification_status,
    p.nhs_number_verification_status = '01' as nhs_number_verified,
    p.mrn,
    coalesce(p.mrn_assigner_code, p.mrn_assigner_display) as mrn_authority,
    p.given_name,
    p.given_names,
    p.family_name,
    p.name_prefix,
    try_cast(p.birth_date as date) as birth_date,
    p.gender as sex,
    upper(p.postcode) as postcode,
    p.practice_organization_id,
    coalesce(p.practice_ods_code, o.ods_code) as practice_ods,
    p.gp_code,
    coalesce(p.deceased_boolean, case when p.deceased_date_time is not null then true end) as deceased,
    try_cast(p.deceased_date_time as timestamptz) as deceased_at,
    p.replaced_by_patient_id,
    try_cast(p.last_updated as timestamptz) as last_updated,
    p._source,
    p._run_id,
    p._file,
    p._record
from {{ ref('fhir_patient') }} p
left join identifiers i on i.patient_id = p.patient_id
left join {{ ref('stg_fhir_organization') }} o on o.organization_id = p.practice_organization_id
