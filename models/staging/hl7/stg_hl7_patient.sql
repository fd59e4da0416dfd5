-- One row per patient identity (patient_id: see stg_hl7_pid), FHIR Patient-shaped so it unions by name
-- with stg_fhir_patient. Demographics are the PID of the latest ADT message that named the identity
-- (latest by MSH-7, then landing order); an identity only ever seen in other messages (results,
-- orders) takes its latest of those. Identities retired by a merge are kept, with the identity that
-- replaced them (the merge itself is in stg_hl7_patient_merge).
with latest as (
    select *
    from {{ ref('stg_hl7_pid') }}
    where patient_id is not null
    qualify row_number() over (
        partition by patient_id
        order by (message_type = 'ADT') desc, message_time desc nulls last, _ingested_at desc, _file desc, _record desc, segment_index desc
    ) = 1
),
replaced as (
    select retired_patient_id, surviving_patient_id
    from {{ ref('stg_hl7_patient_merge') }}
    where surviving_patient_id is not null and surviving_patient_id <> retired_patient_id
    qualify row_number() over (partition by retired_patient_id order by merged_at desc nulls last, _file desc, _record desc) = 1
)
select
    l.patient_id,
    l.identifiers,
    l.nhs_number,
    l.nhs_number_valid,
    l.nhs_number_verification_status,
    l.nhs_number_verification_status = '01' as nhs_number_verified,
    l.mrn,
    l.mrn_authority,
    l.given_name,
    l.given_names,
    l.family_name,
    l.name_prefix,
    l.birth_date,
    l.sex,
    l.postcode,
    null::varchar as practice_organization_id,
    l.practice_ods,
    l.gp_code,
    l.deceased,
    l.deceased_at,
    r.surviving_patient_id as replaced_by_patient_id,
    l.message_time as last_updated,
    l._source,
    l._run_id,
    l._file,
    l._record
from latest l
left join replaced r on r.retired_patient_id = l.patient_id
