-- One row per PR1 segment as received (ADT A03/A08, usually OPCS-4 in English hospitals), FHIR
-- Procedure-shaped so it unions by name with stg_fhir_procedure: PR1-3 procedure code (code, text,
-- coding system; before v2.3 the method sat in PR1-2 and the text in PR1-4), PR1-5 procedure time.
-- Linked to the patient of the PID and the visit of the PV1 before it. A procedure sent again (in an
-- A01 and then the A03) is two rows, as diagnoses are. Status from the event: pre-admission and
-- pending events (A05, A14) carry planned procedures ('preparation'), a cancelled admission (A11) its
-- procedures as 'not-done', and every other event procedures done ('completed').
with pr1 as (
    select s.* exclude (segment_id)
    from {{ ref('stg_hl7_segment') }} s
    where s.segment_id = 'PR1'
),
linked as (
    select
        pr1.* exclude (fields),
        p.patient_id,
        coalesce(p.segment_index, 0) as pid_index,
        v.encounter_id as pv1_encounter_id,
        coalesce(v.segment_index, 0) as pv1_index,
        {{ hl7_raw(2) }} as pr1_2,
        {{ hl7_raw(3, c=1) }} as pr1_3_1,
        {{ hl7_raw(3, c=2) }} as pr1_3_2,
        {{ hl7_raw(3, c=3) }} as pr1_3_3,
        {{ hl7_raw(4) }} as pr1_4,
        {{ hl7_raw(5) }} as pr1_5
    from pr1
    asof left join {{ ref('stg_hl7_pid') }} p
        on p.message_key = pr1.message_key and pr1.segment_index > p.segment_index
    asof left join {{ ref('stg_hl7_pv1') }} v
        on v.message_key = pr1.message_key and pr1.segment_index > v.segment_index
),
coded as (
    select
        *,
        {{ hl7_text('pr1_3_1') }} as source_code,
        coalesce({{ hl7_text('pr1_3_2') }}, {{ hl7_text('pr1_4') }}) as source_display,
        coalesce({{ hl7_text('pr1_3_3') }}, {{ hl7_text('pr1_2') }}) as source_system
    from linked
),
systems as (
    select *, {{ hl7_coding_system('source_system') }} as code_system
    from coded
)
select
    {{ hl7_id('Procedure', ['message_key', 'segment_index']) }} as procedure_id,
    patient_id,
    case when pv1_index > pid_index then pv1_encounter_id end as encounter_id,
    code_system,
    source_code as code,
    source_display as display,
    case when code_system = 'http://snomed.info/sct' then source_code end as snomed_code,
    case when code_system = 'http://snomed.info/sct' then source_display end as snomed_display,
    case
        when trigger_event in ('A05', 'A14') then 'preparation'
        when trigger_event = 'A11' then 'not-done'
        else 'completed'
    end as status,
    null::varchar as category,
    {{ hl7_datetime('pr1_5', 'timezone') }} as performed_at,
    null::timestamptz as performed_end_at,
    null::varchar as performer_practitioner_id,
    message_time as last_updated,
    _source,
    _run_id,
    _file,
    _record
from systems
