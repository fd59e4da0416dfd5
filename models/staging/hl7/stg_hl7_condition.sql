-- One row per DG1 segment as received, FHIR Condition-shaped so it unions by name with
-- stg_fhir_condition: DG1-3 code (code, display, coding system; `I10`/`ICD10` → the FHIR ICD-10
-- system, with the code in FHIR's dotted form in icd10_code), DG1-6 diagnosis type (A admitting,
-- W working, F final), DG1-5 diagnosis time, DG1-19 attestation date. Linked to the patient of the
-- PID and the visit of the PV1 before it. A diagnosis sent again (an A01 then the A03) is two rows.
with dg1 as (
    select s.* exclude (segment_id)
    from {{ ref('stg_hl7_segment') }} s
    where s.segment_id = 'DG1'
),
linked as (
    select
        dg1.* exclude (fields),
        p.patient_id,
        coalesce(p.segment_index, 0) as pid_index,
        v.encounter_id as pv1_encounter_id,
        coalesce(v.segment_index, 0) as pv1_index,
        {{ hl7_raw(2) }} as dg1_2,
        {{ hl7_raw(3, c=1) }} as dg1_3_1,
        {{ hl7_raw(3, c=2) }} as dg1_3_2,
        {{ hl7_raw(3, c=3) }} as dg1_3_3,
        {{ hl7_raw(4) }} as dg1_4,
        {{ hl7_raw(5) }} as dg1_5,
        {{ hl7_raw(6) }} as dg1_6,
        {{ hl7_raw(19) }} as dg1_19
    from dg1
    asof left join {{ ref('stg_hl7_pid') }} p
        on p.message_key = dg1.message_key and dg1.segment_index > p.segment_index
    asof left join {{ ref('stg_hl7_pv1') }} v
        on v.message_key = dg1.message_key and dg1.segment_index > v.segment_index
),
coded as (
    -- DG1-3 (CE/CWE); before v2.3 the coding method sat in DG1-2 and the description in DG1-4.
    select
        *,
        {{ hl7_text('dg1_3_1') }} as source_code,
        coalesce({{ hl7_text('dg1_3_2') }}, {{ hl7_text('dg1_4') }}) as source_display,
        coalesce({{ hl7_text('dg1_3_3') }}, {{ hl7_text('dg1_2') }}) as source_system,
        {{ hl7_text('dg1_6') }} as diagnosis_type
    from linked
),
systems as (
    select *, {{ hl7_coding_system('source_system') }} as code_system
    from coded
)
select
    {{ hl7_id('Condition', ['message_key', 'segment_index']) }} as condition_id,
    patient_id,
    case when pv1_index > pid_index then pv1_encounter_id end as encounter_id,
    code_system,
    source_code as code,
    source_display as display,
    case when code_system = 'http://hl7.org/fhir/sid/icd-10' then {{ icd10_dotted('source_code') }} end as icd10_code,
    case when code_system = 'http://snomed.info/sct' then source_code end as snomed_code,
    case when code_system = 'http://snomed.info/sct' then source_display end as snomed_display,
    source_system,
    source_code,
    source_display,
    'encounter-diagnosis' as category,
    null::varchar as clinical_status,
    diagnosis_type,
    {{ hl7_datetime('dg1_5', 'timezone') }} as onset_at,
    {{ hl7_date('dg1_5') }} as onset_date,
    {{ hl7_date('dg1_19') }} as recorded_date,
    message_time as last_updated,
    _source,
    _run_id,
    _file,
    _record
from systems
