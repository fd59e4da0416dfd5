-- Procedures from GP records (FHIR, SNOMED CT) and hospital PR1 segments (HL7, usually OPCS-4), one
-- row per procedure as recorded, with the linked person and the SNOMED CT concept (map_to_snomed,
-- macros/terminology.sql): a SNOMED CT code sent is used as it is; otherwise the code is mapped
-- through the registered maps (an OPCS-4 code through a reverse lookup of the UK OPCS-4 map).
-- Unmapped procedures stay, with map_rule 'unmapped'.
with facts as (
    select
        x.person_id,
        p.source_kind,
        p._source as source,
        p.source_record_id,
        p.nhs_number,
        p.encounter_id,
        p.snomed_code as sent_snomed_code,
        p.snomed_display as sent_snomed_display,
        p.code_system as map_system,
        p.code as map_code,
        p.display as map_display,
        p.status,
        p.category,
        p.performed_at,
        date_trunc('week', p.performed_at)::date as performed_week,
        p.performed_end_at
    from {{ ref('stg_procedure') }} p
    left join {{ ref('person_xref') }} x on x.source_record_id = p.patient_record_id
)
{{ map_to_snomed('facts') }}
