{{ config(materialized='table') }}
-- Every PV1 segment with the visit it names and the patient of the PID before it. stg_hl7_encounter
-- folds the ADT events of one visit into an encounter; results and diagnoses find their encounter here.
--
-- encounter_id is an opaque hash of the source, the visit number's assigning authority (PV1-19.4, else
-- the sending facility, MSH-4) and the visit number (PV1-19.1); so two stays of one patient on one day
-- stay apart. A PV1 without a visit number falls back to the patient, the admit time as sent (PV1-44)
-- and the patient class; without those either it names no encounter.
with pv1 as (
    select s.* exclude (segment_id)
    from {{ ref('stg_hl7_segment') }} s
    where s.segment_id = 'PV1'
),
linked as (
    -- The PID of this patient group: the nearest one before the PV1.
    select pv1.*, p.patient_id
    from pv1
    asof left join {{ ref('stg_hl7_pid') }} p
        on p.message_key = pv1.message_key and pv1.segment_index > p.segment_index
),
leaves as (
    select
        * exclude (fields),
        {{ hl7_raw(2) }} as pv1_2,
        {{ hl7_raw(3, c=1) }} as pv1_3_1,
        {{ hl7_raw(3, c=2) }} as pv1_3_2,
        {{ hl7_raw(3, c=3) }} as pv1_3_3,
        {{ hl7_raw(3, c=4) }} as pv1_3_4,
        {{ hl7_raw(4) }} as pv1_4,
        {{ hl7_raw(10) }} as pv1_10,
        {{ hl7_raw(14) }} as pv1_14,
        {{ hl7_raw(19) }} as pv1_19_1,
        {{ hl7_raw(19, c=4) }} as pv1_19_4,
        {{ hl7_raw(36) }} as pv1_36,
        {{ hl7_raw(44) }} as pv1_44,
        {{ hl7_raw(45) }} as pv1_45
    from linked
),
visits as (
    select
        *,
        {{ hl7_text('pv1_19_1') }} as visit_number,
        {{ hl7_text('pv1_19_4') }} as visit_number_assigner,
        upper({{ hl7_text('pv1_2') }}) as patient_class
    from leaves
)
select
    message_key,
    segment_index,
    message_type,
    trigger_event,
    event,
    case
        when visit_number is not null
            then {{ hl7_id('Encounter', ['_source', 'coalesce(visit_number_assigner, sending_facility)', 'visit_number']) }}
        when patient_id is not null and nullif(pv1_44, '') is not null
            then {{ hl7_id('Encounter', ['_source', 'patient_id', 'pv1_44', 'patient_class']) }}
    end as encounter_id,
    patient_id,
    visit_number,
    coalesce(visit_number_assigner, sending_facility) as visit_number_authority,
    patient_class,
    -- PV1-3 (PL): point of care / room / bed, and the facility (PL-4, HD-1).
    nullif(concat_ws('/', {{ hl7_text('pv1_3_1') }}, {{ hl7_text('pv1_3_2') }}, {{ hl7_text('pv1_3_3') }}), '') as location,
    {{ hl7_text('pv1_3_4') }} as location_site,
    {{ hl7_text('pv1_4') }} as admission_type_code,
    {{ hl7_text('pv1_10') }} as hospital_service_code,
    {{ hl7_text('pv1_14') }} as admit_source_code,
    {{ hl7_text('pv1_36') }} as discharge_disposition_code,
    {{ hl7_datetime('pv1_44', 'timezone') }} as admitted_at,
    {{ hl7_datetime('pv1_45', 'timezone') }} as discharged_at,
    -- When the event happened: EVN-6, else EVN-2, else MSH-7.
    coalesce(event_occurred_at, event_recorded_at, message_time) as event_at,
    sending_facility,
    message_time,
    _source,
    _run_id,
    _file,
    _record,
    _ingested_at
from visits
