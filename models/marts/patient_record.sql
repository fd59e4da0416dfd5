-- Every patient record from every source, one shape: the input to linkage and to serving.
-- Minimised forms (year of birth, postcode district) are computed here so serving never needs more.
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
    practice_ods,
    year(birth_date) as year_of_birth,
    nullif(regexp_extract(upper(replace(postcode, ' ', '')), '^([A-Z]{1,2}[0-9][A-Z0-9]?)[0-9][A-Z]{2}$', 1), '') as postcode_district
from {{ ref('stg_patient_record') }} c
left join {{ ref('person_xref') }} x on x.source_record_id = c.source_record_id
