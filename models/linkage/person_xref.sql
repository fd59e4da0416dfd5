-- Which person each patient record belongs to: probabilistic linkage across sources (transforms/linkage,
-- `materialized='linkage'`). Records sharing a verified NHS number and birth date link outright; the
-- rest are scored field by field (names, birth date, sex, postcode) with parameters estimated from
-- these records on every build; an HL7 merge (A40) forces its two identities together; two different
-- verified NHS numbers never share a person. Person ids survive rebuilds (see README, "Patient linkage").
-- Companion tables: person_xref_pairs (scored pairs, for explanations), person_xref_review (the
-- clerical-review queue), person_xref_retired (ids retired by merges), person_xref_registry,
-- person_xref_records (standardised) and person_xref_model (the trained parameters).
{{ config(
    materialized='linkage',
    threshold=0.95,
    review_lower=0.5,
    accept_test_nhs_numbers=var('linkage_accept_test_nhs_numbers', false)
) }}

select
    source_record_id as record_id,
    _source as source,
    given_name,
    family_name,
    birth_date,
    sex,
    postcode,
    nhs_number,
    nhs_number_verification_status,
    case when replaced_by_patient_id is not null
        then concat_ws('/', source_kind, _source, 'Patient', replaced_by_patient_id)
    end as linked_record_id,
    last_updated as recorded_at
from {{ ref('stg_patient_record') }}
