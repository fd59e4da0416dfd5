-- Observations (laboratory results) from GP records (FHIR) and hospital ORU messages (HL7 OBX), one
-- row per result as recorded, with the linked person and the SNOMED CT concept of the test
-- (map_to_snomed, macros/terminology.sql): a SNOMED CT coding sent with the result is used as it is;
-- otherwise the first code (usually the laboratory's local test code) is mapped through the
-- registered maps. Unmapped results stay, with map_rule 'unmapped'. Free text (value_string) stays in
-- staging: it can name people.
with facts as (
    select
        x.person_id,
        o.source_kind,
        o._source as source,
        o.source_record_id,
        o.nhs_number,
        o.encounter_id,
        o.diagnostic_report_id,
        list_filter(o.codings, lambda c: c.system = 'http://snomed.info/sct')[1].code as sent_snomed_code,
        list_filter(o.codings, lambda c: c.system = 'http://snomed.info/sct')[1].display as sent_snomed_display,
        o.code_system as map_system,
        o.code as map_code,
        o.display as map_display,
        o.value_type,
        o.value_comparator,
        o.value_number,
        o.value_separator,
        o.value_number_2,
        o.unit,
        o.value_code_system,
        o.value_code,
        o.value_display,
        o.reference_low,
        o.reference_high,
        o.interpretation_code,
        o.status,
        o.effective_at,
        date_trunc('week', o.effective_at)::date as effective_week,
        o.issued_at
    from {{ ref('stg_observation') }} o
    left join {{ ref('person_xref') }} x on x.source_record_id = o.patient_record_id
)
{{ map_to_snomed('facts') }}
