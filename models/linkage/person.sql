-- The golden person: one row per person_id, each field chosen by survivorship rules from the person's
-- records — verified identifiers first (a PDS-traced NHS number beats an untraced one), then the most
-- recent record, then the most complete. Every field keeps which record it came from by rank only, so a
-- later correction in any source wins at the next build.
with records as (
    select
        x.person_id,
        p.*,
        coalesce(p.nhs_number_verified, false) as verified,
        coalesce(p.last_updated, timestamptz '1900-01-01 00:00:00+00') as recency,
        (p.given_name is not null)::int + (p.family_name is not null)::int + (p.birth_date is not null)::int
            + (p.sex is not null)::int + (p.postcode is not null)::int + (p.nhs_number is not null)::int as completeness
    from {{ ref('person_xref') }} x
    join {{ ref('stg_patient_record') }} p on p.source_record_id = x.source_record_id
),
ranked as (
    select *, {'verified': verified, 'recency': recency, 'completeness': completeness, 'record': source_record_id} as survivorship
    from records
)
select
    person_id,
    arg_max(nhs_number, (nhs_number_valid, survivorship)) filter (where nhs_number_valid) as nhs_number,
    bool_or(verified) filter (where nhs_number_valid) as nhs_number_verified,
    arg_max(given_name, survivorship) filter (where given_name is not null) as given_name,
    arg_max(family_name, survivorship) filter (where family_name is not null) as family_name,
    arg_max(birth_date, survivorship) filter (where birth_date is not null) as birth_date,
    arg_max(sex, survivorship) filter (where sex is not null and sex <> 'unknown') as sex,
    arg_max(postcode, survivorship) filter (where postcode is not null) as postcode,
    arg_max(practice_ods, (source_kind = 'fhir', survivorship)) filter (where practice_ods is not null) as practice_ods,
    bool_or(coalesce(deceased, false)) as deceased,
    max(deceased_at) as deceased_at,
    count(*) as source_records,
    list(distinct source_kind order by source_kind) as source_kinds,
    max(last_updated) as last_updated
from ranked
group by person_id
