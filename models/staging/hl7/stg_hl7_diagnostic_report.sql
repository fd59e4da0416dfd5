-- One row per OBR of a result message (ORU, OUL), FHIR DiagnosticReport-shaped: the report its OBX
-- results belong to (stg_hl7_observation.diagnostic_report_id). An OBR in an order message (ORM, OML)
-- is a request, not a report, and is not here. Linked to the patient of the PID and the visit of the
-- PV1 before it in the same patient group.
with obr as (
    select s.* exclude (segment_id)
    from {{ ref('stg_hl7_segment') }} s
    where s.segment_id = 'OBR' and s.message_type in ('ORU', 'OUL')
),
linked as (
    select
        obr.*,
        p.patient_id,
        p.segment_index as pid_index,
        v.encounter_id,
        v.segment_index as pv1_index
    from obr
    asof left join {{ ref('stg_hl7_pid') }} p
        on p.message_key = obr.message_key and obr.segment_index > p.segment_index
    asof left join {{ ref('stg_hl7_pv1') }} v
        on v.message_key = obr.message_key and obr.segment_index > v.segment_index
),
leaves as (
    select
        * exclude (fields),
        {{ hl7_raw(2) }} as obr_2,
        {{ hl7_raw(3) }} as obr_3,
        {{ hl7_raw(4, c=1) }} as obr_4_1,
        {{ hl7_raw(4, c=2) }} as obr_4_2,
        {{ hl7_raw(4, c=3) }} as obr_4_3,
        {{ hl7_raw(7) }} as obr_7,
        {{ hl7_raw(22) }} as obr_22,
        {{ hl7_raw(24) }} as obr_24,
        {{ hl7_raw(25) }} as obr_25
    from linked
)
select
    {{ hl7_id('DiagnosticReport', ['message_key', 'segment_index']) }} as diagnostic_report_id,
    patient_id,
    -- A PV1 before this patient's PID belongs to another patient group.
    case when pv1_index > coalesce(pid_index, 0) then encounter_id end as encounter_id,
    {{ hl7_text('obr_2') }} as placer_order_number,
    {{ hl7_text('obr_3') }} as filler_order_number,
    {{ hl7_coding_system(hl7_text('obr_4_3')) }} as code_system,
    {{ hl7_text('obr_4_1') }} as code,
    {{ hl7_text('obr_4_2') }} as display,
    {{ hl7_text('obr_24') }} as category,
    -- OBR-25 (table 0123) as a FHIR DiagnosticReport status.
    case upper({{ hl7_text('obr_25') }})
        when 'O' then 'registered' when 'I' then 'registered' when 'S' then 'registered'
        when 'A' then 'partial' when 'R' then 'partial'
        when 'P' then 'preliminary'
        when 'C' then 'corrected'
        when 'F' then 'final'
        when 'X' then 'cancelled'
        when 'Y' then 'unknown' when 'Z' then 'unknown'
    end as status,
    -- OBR-7: when the specimen was taken or the observation made; OBR-22: when the report was issued.
    {{ hl7_datetime('obr_7', 'timezone') }} as effective_at,
    {{ hl7_datetime('obr_22', 'timezone') }} as issued_at,
    message_time as last_updated,
    message_key,
    segment_index,
    _source,
    _run_id,
    _file,
    _record
from leaves
