-- One row per landed HL7 message (landing skips repeated bytes, so each message is here once), with
-- its MSH header and the EVN times. Every other HL7 model reads its segments through this one for the
-- event, the message time and the zone that times sent without an offset are read in.
with evn as (
    select
        message_key,
        {{ hl7_value(1) }} as evn_event_type,
        {{ hl7_raw(2) }} as evn_recorded,
        {{ hl7_raw(6) }} as evn_occurred
    from {{ source('hl7', 'segments') }}
    where segment_id = 'EVN'
    qualify row_number() over (partition by message_key order by segment_index) = 1
)
select
    m.message_key,
    m.control_id,
    m.control_id_reused,
    m.message_type,
    -- MSH-9.2; messages from before v2.3 may leave it empty and carry the event in EVN-1 only.
    coalesce(m.trigger_event, e.evn_event_type) as trigger_event,
    m.message_type || '^' || coalesce(m.trigger_event, e.evn_event_type, '') as event,
    m.structure,
    m.version,
    m.sending_application,
    m.sending_facility,
    m.receiving_application,
    m.receiving_facility,
    m.message_timestamp,
    m.message_time,
    m.message_time_precision,
    m.timezone,
    {{ hl7_datetime('e.evn_recorded', 'm.timezone') }} as event_recorded_at,
    {{ hl7_datetime('e.evn_occurred', 'm.timezone') }} as event_occurred_at,
    m.charset,
    m.delimiters,
    m.file_control_id,
    m.batch_control_id,
    m.segment_count,
    m.byte_length,
    m._source,
    m._run_id,
    m._file,
    m._record,
    m._ingested_at
from {{ source('hl7', 'messages') }} m
left join evn e using (message_key)
