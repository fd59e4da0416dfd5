{{ config(materialized='table') }}
-- Every PID segment (one per patient group: ADT carries one, an ORU or A40 may carry several), with its
-- PD1 and the patient identity it names. The other HL7 models link their segments to the nearest PID
-- before them through this one, and stg_hl7_patient keeps one row per identity.
--
-- The identity (patient_id) is the first PID-3 identifier of these kinds, in this order: the MRN
-- (type MR); another patient-internal id (PI, MRN, PT); any local id that is not a national or personal
-- one (a social security, passport, driving licence or health-plan number); the NHS number; anything
-- else. patient_id is an opaque hash of the source, the identifier's system or assigning authority, and
-- its value — stable across runs and specific to this source; the MRN itself stays in `mrn`.
--
-- Leaves are picked out raw first and decoded (hl7_text) in a later step, on short column names;
-- repeating fields are unnested to rows to decode them, never decoded inside a lambda.
with pid as (
    select s.* exclude (segment_id)
    from {{ ref('stg_hl7_segment') }} s
    where s.segment_id = 'PID'
),
pd1 as (
    -- The PD1 of a patient group follows its PID; keep the first one after each PID.
    select d.message_key, p.segment_index as pid_index, d.fields as pd1_fields
    from (select message_key, segment_index, fields from {{ source('hl7', 'segments') }} where segment_id = 'PD1') d
    asof join (select message_key, segment_index from {{ source('hl7', 'segments') }} where segment_id = 'PID') p
        on d.message_key = p.message_key and d.segment_index > p.segment_index
    qualify row_number() over (partition by d.message_key, p.segment_index order by d.segment_index) = 1
),
pid3 as (
    -- PID-3, one row per repetition.
    select message_key, segment_index, delimiters, unnest(reps) as cx, generate_subscripts(reps, 1) as position
    from (select message_key, segment_index, delimiters, {{ hl7_repetitions(hl7_field(3)) }} as reps from pid)
),
pid3_leaves as (
    select message_key, segment_index, position, {{ hl7_identifier_leaves('cx') }}
    from pid3
),
identifier_lists as (
    select
        message_key,
        segment_index,
        list({{ hl7_identifier('id_value', 'id_type_code', 'id_assigner', 'id_universal_id', 'id_universal_id_type') }} order by position)
            filter (where id_value is not null) as identifiers
    from pid3_leaves
    group by message_key, segment_index
),
leaves as (
    select
        pid.*,
        coalesce(i.identifiers, []) as identifiers,
        {{ hl7_raw(32) }} as pid_32,
        {{ hl7_sub(hl7_comp(hl7_rep(hl7_field(5)), 1), 1) }} as pid_5_1_1,
        {{ hl7_raw(5, c=2) }} as pid_5_2,
        {{ hl7_raw(5, c=3) }} as pid_5_3,
        {{ hl7_raw(5, c=5) }} as pid_5_5,
        {{ hl7_raw(7) }} as pid_7,
        {{ hl7_raw(8) }} as pid_8,
        -- The postcode (XAD-5) of the home address (XAD-7 = H) when one is marked, else of the first.
        {{ hl7_comp("coalesce(list_filter(" ~ hl7_repetitions(hl7_field(11)) ~ ", lambda a: split_part(a, delimiters[2], 7) = 'H')[1], " ~ hl7_repetitions(hl7_field(11)) ~ "[1])", 5) }} as pid_11_5,
        {{ hl7_raw(29) }} as pid_29,
        {{ hl7_raw(30) }} as pid_30,
        -- PD1-3 is an XON: the ODS code is XON-3 (v2.3–2.4) or XON-10 (v2.5 onwards). PD1-4 the GP (XCN-1).
        {{ hl7_raw(3, c=3, fields='pd1.pd1_fields') }} as pd1_3_3,
        {{ hl7_raw(3, c=10, fields='pd1.pd1_fields') }} as pd1_3_10,
        {{ hl7_raw(4, fields='pd1.pd1_fields') }} as pd1_4_1
    from pid
    left join identifier_lists i using (message_key, segment_index)
    left join pd1 on pd1.message_key = pid.message_key and pd1.pid_index = pid.segment_index
),
decoded as (
    select
        *,
        {{ hl7_text('pid_32') }} as nhs_status_text,
        {{ hl7_text('pid_5_1_1') }} as family,
        {{ hl7_text('pid_5_2') }} as given,
        {{ hl7_text('pid_5_3') }} as further_given,
        {{ hl7_text('pid_5_5') }} as prefix,
        upper({{ hl7_text('pid_8') }}) as sex_code,
        {{ hl7_text('pid_11_5') }} as postcode_text,
        upper({{ hl7_text('pid_30') }}) as death_indicator,
        coalesce({{ hl7_text('pd1_3_3') }}, {{ hl7_text('pd1_3_10') }}) as practice,
        {{ hl7_text('pd1_4_1') }} as gp,
        {{ hl7_datetime('pid_29', 'timezone') }} as death_time,
        list_filter(identifiers, lambda x: x.system = 'https://fhir.nhs.uk/Id/nhs-number')[1] as nhs_identifier,
        list_filter(identifiers, lambda x: upper(x.type_code) = 'MR')[1] as mrn_identifier,
        coalesce(
            list_filter(identifiers, lambda x: upper(x.type_code) = 'MR')[1],
            list_filter(identifiers, lambda x: upper(x.type_code) in ('PI', 'MRN', 'PT'))[1],
            list_filter(identifiers, lambda x: x.system is distinct from 'https://fhir.nhs.uk/Id/nhs-number'
                and coalesce(upper(x.type_code), '') not in ('SS', 'SSN', 'PPN', 'DL', 'NI', 'NH', 'NN', 'HC', 'MC', 'MA', 'AN', 'VN'))[1],
            list_filter(identifiers, lambda x: x.system = 'https://fhir.nhs.uk/Id/nhs-number')[1],
            identifiers[1]
        ) as patient_key
    from leaves
)
select
    message_key,
    segment_index,
    message_type,
    trigger_event,
    event,
    message_time,
    timezone,
    case when patient_key is not null
        then {{ hl7_id('Patient', ['_source', 'coalesce(patient_key.system, patient_key.assigner)', 'patient_key.value']) }}
    end as patient_id,
    patient_key.value as patient_key_value,
    coalesce(patient_key.system, patient_key.assigner) as patient_key_authority,
    identifiers,
    nhs_identifier.value as nhs_number,
    {{ nhs_number_valid('nhs_identifier.value') }} as nhs_number_valid,
    -- PID-32 carries the NHS Number Status Indicator (NSTS 01–08, sometimes prefixed NSTS); only 01
    -- means present and verified. Anything else there is not an NHS number status and reads as NULL.
    nullif(regexp_extract(upper(coalesce(nhs_status_text, '')), '^(?:NSTS)?(0[1-8])$', 1), '') as nhs_number_verification_status,
    mrn_identifier.value as mrn,
    mrn_identifier.assigner as mrn_authority,
    -- PID-5, first repetition: XPN family name (FN.1 surname), given, further given, prefix.
    family as family_name,
    given as given_name,
    list_filter([given, further_given], lambda g: g is not null) as given_names,
    prefix as name_prefix,
    {{ hl7_date('pid_7') }} as birth_date,
    -- PID-8 (HL7 table 0001, mapped as the v2-to-FHIR ConceptMap does); NHS feeds also send the
    -- Data Dictionary person gender codes 1, 2, 9 and 0.
    case sex_code
        when 'M' then 'male' when '1' then 'male'
        when 'F' then 'female' when '2' then 'female'
        when 'O' then 'other' when 'A' then 'other' when 'N' then 'other'
        when 'U' then 'unknown' when '9' then 'unknown' when '0' then 'unknown'
    end as sex,
    upper(trim(postcode_text)) as postcode,
    practice as practice_ods,
    gp as gp_code,
    -- PID-30 death indicator, PID-29 date/time of death.
    case when death_indicator = 'Y' or death_time is not null then true when death_indicator = 'N' then false end as deceased,
    death_time as deceased_at,
    _source,
    _run_id,
    _file,
    _record,
    _ingested_at
from decoded
