-- One row per distinct HL7 message (the same bytes landed twice count once), with its MSH header.
select
    message_key,
    control_id,
    message_type,
    trigger_event,
    message_type || '^' || coalesce(trigger_event, '') as event,
    sending_facility,
    {{ hl7_timestamp('message_timestamp') }} as message_at,
    _source,
    _run_id,
    _file,
    _record
from {{ source('hl7', 'messages') }}
qualify row_number() over (partition by message_key order by _ingested_at, _record) = 1
