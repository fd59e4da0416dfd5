-- DG1 diagnoses (usually ICD-10) with the patient of their message.
select
    p.message_key,
    p.mrn,
    p.nhs_number,
    {{ hl7_component('s.fields[4]', 1) }} as code,
    {{ hl7_component('s.fields[4]', 2) }} as display,
    {{ hl7_component('s.fields[4]', 3) }} as coding_system,
    {{ hl7_timestamp('s.fields[6]') }} as diagnosed_at
from {{ ref('stg_hl7_pid') }} p
join {{ source('hl7', 'segments') }} s on s.message_key = p.message_key and s.segment_id = 'DG1'
