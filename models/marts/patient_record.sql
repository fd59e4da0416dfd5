-- Every patient record from every source, one shape: the input to linkage and to serving.
-- Serving minimises birth date and postcode itself (meta.serve in clinical.yml), at the release date.
-- The union of the sources is stg_patient_record.
select
    x.person_id,
    c.source_kind,
    _source as source,
    fhir_patient_id,
    mrn,
    nhs_number,
    nhs_number_valid,
    nhs_number_verification_status,
    given_name,
    family_name,
    birth_date,
    sex,
    postcode,
    practice_ods
from {{ ref('stg_patient_record') }} c
left join {{ ref('person_xref') }} x on x.source_record_id = c.source_record_id
