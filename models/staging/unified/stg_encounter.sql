-- Encounters from every source in one shape (stg_fhir_encounter and stg_hl7_encounter have the same
-- columns), each with the NHS number of its patient in the same source, ready for linkage; codes stay
-- as sent (code_system, code, display) for terminology mapping downstream.
-- source_record_id names the record stably across rebuilds: <source_kind>/<source>/Encounter/<encounter_id>.
-- A table: the marts and the data tests read it several times, and each read of the HL7 side would
-- otherwise decode the raw segments again.
{{ config(materialized='table') }}

{{ union_by_source('encounter', 'Encounter', 'encounter_id') }}
