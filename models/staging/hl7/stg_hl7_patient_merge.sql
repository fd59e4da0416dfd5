-- ADT^A40 merges: the retired MRN (MRG-1) now belongs to the surviving MRN (PID-3).
select
    p.message_key,
    p.message_at as merged_at,
    {{ hl7_component("list_filter(string_split(m.fields[2], '~'), r -> split_part(r, '^', 5) = 'MR')[1]", 1) }} as retired_mrn,
    p.mrn as surviving_mrn
from {{ ref('stg_hl7_pid') }} p
join {{ source('hl7', 'segments') }} m on m.message_key = p.message_key and m.segment_id = 'MRG'
where p.event = 'ADT^A40'
