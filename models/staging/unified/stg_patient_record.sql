-- Every patient record from every source in one shape — FHIR Patients and HL7 v2 patient identities
-- (stg_fhir_patient and stg_hl7_patient have the same columns) — the input to linkage.
-- source_record_id names the record stably across rebuilds: <source_kind>/<source>/Patient/<patient_id>.
-- A table: the marts and the data tests read it several times, and each read of the HL7 side would
-- otherwise decode the raw segments again.
{{ config(materialized='table') }}

select
    'fhir' as source_kind,
    concat_ws('/', 'fhir', _source, 'Patient', patient_id) as source_record_id,
    patient_id as fhir_patient_id,
    *
from {{ ref('stg_fhir_patient') }}
union all by name
select
    'hl7' as source_kind,
    concat_ws('/', 'hl7', _source, 'Patient', patient_id) as source_record_id,
    null::varchar as fhir_patient_id,
    *
from {{ ref('stg_hl7_patient') }}
