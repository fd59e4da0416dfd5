-- Diagnoses from GP records (FHIR: SNOMED CT, ICD-10 or a practice's local code) and hospital DG1
-- segments (usually ICD-10), one row per diagnosis as recorded, with the linked person and the
-- SNOMED CT concept (map_to_snomed, macros/terminology.sql): a SNOMED CT code sent with the diagnosis
-- is used as it is; otherwise its ICD-10 code, else its first code, is mapped through the registered
-- maps. Unmapped diagnoses stay, with map_rule 'unmapped' (and are counted in dq_unmapped_codes).
with facts as (
    select
        x.person_id,
        c.source_kind,
        c._source as source,
        c.source_record_id,
        c.nhs_number,
        c.icd10_code,
        c.snomed_code as sent_snomed_code,
        c.snomed_display as sent_snomed_display,
        case when c.icd10_code is not null then 'http://hl7.org/fhir/sid/icd-10' else c.code_system end as map_system,
        coalesce(c.icd10_code, c.code) as map_code,
        case when c.icd10_code is null or c.code_system = 'http://hl7.org/fhir/sid/icd-10' then c.display end as map_display,
        c.category,
        c.clinical_status,
        c.diagnosis_type,
        c.onset_date,
        year(c.onset_date) as onset_year,
        c.recorded_date
    from {{ ref('stg_condition') }} c
    left join {{ ref('person_xref') }} x on x.source_record_id = c.patient_record_id
)
{{ map_to_snomed('facts') }}
