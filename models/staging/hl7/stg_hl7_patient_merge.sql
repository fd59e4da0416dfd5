-- Patient merges (ADT A40; also A34 and A36, the older merges by patient id): one row per retired
-- identifier, i.e. per repetition of MRG-1, linked to the surviving identity in the PID before it.
-- A merge is only a link, retired → surviving; demographic changes arrive separately (A08/A31).
-- retired_patient_id is derived from MRG-1 exactly as stg_hl7_pid derives patient_id from PID-3, so it
-- matches the retired identity's rows in stg_hl7_patient when that identity was seen.
with mrg as (
    select s.* exclude (segment_id)
    from {{ ref('stg_hl7_segment') }} s
    where s.segment_id = 'MRG' and s.message_type = 'ADT' and s.trigger_event in ('A40', 'A34', 'A36')
),
mrg1 as (
    -- MRG-1, one row per repetition.
    select mrg.* exclude (fields), unnest(reps) as cx
    from (select *, {{ hl7_repetitions(hl7_field(1)) }} as reps from mrg) mrg
),
retired as (
    select
        * exclude (id_value, id_type_code, id_assigner, id_universal_id, id_universal_id_type),
        {{ hl7_identifier('id_value', 'id_type_code', 'id_assigner', 'id_universal_id', 'id_universal_id_type') }} as retired
    from (select *, {{ hl7_identifier_leaves('cx') }} from mrg1)
    where id_value is not null
)
select
    {{ hl7_id('PatientMerge', ['r.message_key', 'r.segment_index', 'r.retired.system', 'r.retired.assigner', 'r.retired.value']) }} as merge_id,
    {{ hl7_id('Patient', ['r._source', 'coalesce(r.retired.system, r.retired.assigner)', 'r.retired.value']) }} as retired_patient_id,
    r.retired.value as retired_identifier,
    r.retired.type_code as retired_identifier_type,
    r.retired.assigner as retired_identifier_assigner,
    r.retired.system as retired_identifier_system,
    p.patient_id as surviving_patient_id,
    p.patient_key_value as surviving_identifier,
    p.patient_key_authority as surviving_identifier_authority,
    p.mrn as surviving_mrn,
    p.nhs_number as surviving_nhs_number,
    -- When the merge happened: EVN-6 (event occurred), else EVN-2 (recorded), else MSH-7.
    coalesce(r.event_occurred_at, r.event_recorded_at, r.message_time) as merged_at,
    r.trigger_event,
    r.message_key,
    r._source,
    r._run_id,
    r._file,
    r._record
from retired r
asof left join {{ ref('stg_hl7_pid') }} p
    on p.message_key = r.message_key and r.segment_index > p.segment_index
