-- Encounters from GP records (FHIR) and hospital ADT (HL7), with the patient's NHS number for linkage.
-- Cancelled encounters (an A11 cancelled admission, a FHIR status of cancelled) and entries made in
-- error are left out. The union of the sources, with each patient's NHS number, is stg_encounter.
select
    x.person_id,
    c.source_kind,
    encounter_id,
    nhs_number,
    class_code,
    status,
    period_start as admitted_at,
    period_end as discharged_at,
    date_trunc('week', period_start)::date as admitted_week,
    date_diff('day', period_start, period_end) as length_of_stay_days,
    service_provider_ods as provider_ods
from {{ ref('stg_encounter') }} c
left join {{ ref('person_xref') }} x on x.source_record_id = c.patient_record_id
where status is distinct from 'cancelled' and status is distinct from 'entered-in-error'
