-- Encounters from GP records (FHIR) and hospital ADT (HL7), with the patient's NHS number for linkage.
select
    'fhir' as source_kind,
    e.encounter_id,
    p.nhs_number,
    e.class_code,
    e.period_start as admitted_at,
    e.period_end as discharged_at,
    date_trunc('week', e.period_start)::date as admitted_week,
    date_diff('day', e.period_start, e.period_end) as length_of_stay_days,
    o.ods_code as provider_ods
from {{ ref('stg_fhir_encounter') }} e
left join {{ ref('stg_fhir_patient') }} p using (patient_id)
left join {{ ref('stg_fhir_organization') }} o on o.organization_id = e.service_provider_id
union all
select
    'hl7',
    visit_number,
    nhs_number,
    class_code,
    admitted_at,
    discharged_at,
    date_trunc('week', admitted_at)::date,
    date_diff('day', admitted_at, discharged_at),
    facility
from {{ ref('stg_hl7_encounter') }}
