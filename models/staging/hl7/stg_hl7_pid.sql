-- The PID segment of every message, with the identifiers NHS conventions put in PID-3:
-- `<MRN>^^^<ODS>^MR` and `<NHS number>^^^NHS^NH` (also seen as ^HN, or a bare ^^^NHS).
with pid as (
    select s.message_key, m.message_at, m.event, s.fields
    from {{ source('hl7', 'segments') }} s
    join {{ ref('stg_hl7_message') }} m using (message_key)
    where s.segment_id = 'PID'
    qualify row_number() over (partition by s.message_key order by s.segment_index) = 1
),
ids as (
    select
        *,
        string_split({{ hl7_field(3) }}, '~') as pid3
    from pid
)
select
    message_key,
    message_at,
    event,
    {{ hl7_component("list_filter(pid3, r -> split_part(r, '^', 5) = 'MR')[1]", 1) }} as mrn,
    {{ hl7_component("list_filter(pid3, r -> split_part(r, '^', 5) = 'MR')[1]", 4) }} as mrn_authority,
    {{ hl7_component("list_filter(pid3, r -> split_part(r, '^', 4) = 'NHS')[1]", 1) }} as nhs_number,
    {{ hl7_component(hl7_field(32), 1) }} as nhs_number_status,
    {{ hl7_component(hl7_field(5), 1) }} as family_name,
    {{ hl7_component(hl7_field(5), 2) }} as given_name,
    try_strptime(substr({{ hl7_field(7) }}, 1, 8), '%Y%m%d')::date as birth_date,
    case {{ hl7_field(8) }} when 'M' then 'male' when 'F' then 'female' when 'U' then 'unknown' when 'O' then 'other' end as sex,
    upper({{ hl7_component(hl7_field(11), 5) }}) as postcode
from ids
