-- Procedures from every source in one shape (stg_fhir_procedure and stg_hl7_procedure have the same
-- columns), each with the NHS number of its patient in the same source; codes stay as sent.
-- source_record_id names the record stably across rebuilds: <source_kind>/<source>/Procedure/<procedure_id>.
{{ config(materialized='table') }}

{{ union_by_source('procedure', 'Procedure', 'procedure_id') }}
