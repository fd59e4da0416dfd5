-- Every segment of every landed HL7 message, with the message context the segment models share: the
-- event, the times and the zone that times sent without an offset are read in, and the lineage.
-- Each stg_hl7_<resource> model starts from its own segment id here.
select
    s.message_key,
    s.segment_index,
    s.segment_id,
    s.delimiters,
    s.fields,
    m.message_type,
    m.trigger_event,
    m.event,
    m.sending_facility,
    m.message_time,
    m.event_occurred_at,
    m.event_recorded_at,
    m.timezone,
    m._source,
    m._run_id,
    m._file,
    m._record,
    m._ingested_at
from {{ source('hl7', 'segments') }} s
join {{ ref('stg_hl7_message') }} m using (message_key)
