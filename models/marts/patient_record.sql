-- Every patient record from every source, one shape: the input to linkage and to serving.
-- Minimised forms (year of birth, postcode district) are computed here so serving never needs more.
with records as (
    select
        'fhir' as source_kind, p._source as source, p.patient_id as fhir_patient_id, null as mrn,
        nhs_number, nhs_number_valid, given_name, family_name, birth_date, sex, postcode,
        o.ods_code as practice_ods
    from {{ ref('stg_fhir_patient') }} p
    left join {{ ref('stg_fhir_organization') }} o on o.organization_id = p.practice_organization_id
    union all
    select
        'hl7', '{{ var("hl7_source") }}', null, mrn,
        nhs_number, nhs_number_valid, given_name, family_name, birth_date, sex, postcode,
        null
    from {{ ref('stg_hl7_patient') }}
)
select
    *,
    year(birth_date) as year_of_birth,
    nullif(regexp_extract(upper(replace(postcode, ' ', '')), '^([A-Z]{1,2}[0-9][A-Z0-9]?)[0-9][A-Z]{2}$', 1), '') as postcode_district
from records
