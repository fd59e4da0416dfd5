-- Conditions from every source in one shape (stg_fhir_condition and stg_hl7_condition have the same
-- columns), each with the NHS number of its patient in the same source, ready for linkage; codes stay
-- as sent (code_system, code, display) for terminology mapping downstream.
-- source_record_id names the record stably across rebuilds: <source_kind>/<source>/Condition/<condition_id>.
-- A table: the marts and the data tests read it several times, and each read of the HL7 side would
-- otherwise decode the raw segments again.
{{ config(materialized='table') }}

{{ union_by_source('condition', 'Condition', 'condition_id') }}
