-- Medication requests from GP records (FHIR, dm+d coded), one row per request with the linked person.
-- Hospital prescribing (HL7 RDE/RXE) is not among our feeds. Requests entered in error are left out.
select
    x.person_id,
    concat_ws('/', 'fhir', m._source, 'MedicationRequest', m.medication_request_id) as source_record_id,
    m._source as source,
    m.status,
    m.intent,
    coalesce(m.medication_system, case when m.medication_dmd_code is not null then 'https://dmd.nhs.uk' end) as medication_system,
    coalesce(m.medication_code, m.medication_dmd_code, m.medication_snomed_code) as medication_code,
    coalesce(m.medication_display, m.medication_text) as medication_display,
    date_trunc('month', try_cast(left(m.authored_on, 10) as date))::date as authored_month
from {{ ref('fhir_medication_request') }} m
left join {{ ref('person_xref') }} x on x.source_record_id = concat_ws('/', 'fhir', m._source, 'Patient', m.patient_id)
where m.status is distinct from 'entered-in-error'
