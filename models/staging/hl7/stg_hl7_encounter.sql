-- Hospital spells from ADT: one row per visit number (PV1-19), admitted by A01, discharged by A03,
-- and dropped when an A11 cancelled the admission.
with pv1 as (
    select p.message_key, p.event, p.message_at, p.mrn, p.nhs_number, s.fields
    from {{ ref('stg_hl7_pid') }} p
    join {{ source('hl7', 'segments') }} s on s.message_key = p.message_key and s.segment_id = 'PV1'
    where p.event in ('ADT^A01', 'ADT^A03', 'ADT^A11')
),
visits as (
    select
        {{ hl7_component(hl7_field(19), 1) }} as visit_number,
        any_value(mrn) as mrn,
        any_value(nhs_number) as nhs_number,
        any_value(case {{ hl7_field(2) }} when 'I' then 'IMP' when 'O' then 'AMB' when 'E' then 'EMER' else {{ hl7_field(2) }} end) as class_code,
        max(case when event = 'ADT^A01' then {{ hl7_timestamp(hl7_field(44)) }} end) as admitted_at,
        max(case when event = 'ADT^A03' then {{ hl7_timestamp(hl7_field(45)) }} end) as discharged_at,
        bool_or(event = 'ADT^A11') as cancelled,
        any_value({{ hl7_component(hl7_field(3), 4) }}) as facility
    from pv1
    group by 1
)
select * exclude (cancelled)
from visits
where visit_number is not null and not cancelled and admitted_at is not null
