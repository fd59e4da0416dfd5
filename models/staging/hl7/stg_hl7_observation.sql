-- One row per OBX segment as received, FHIR Observation-shaped so it unions by name with
-- stg_fhir_observation. The value is read by its type (OBX-2):
--   NM            → value_number (+ value_comparator when sent as `<5`), unit from OBX-6
--   SN            → value_comparator, value_number, value_separator, value_number_2 (`<^5`, `^10^-^20`, `^1^:^128`)
--   ST, TX, FT    → value_string, escapes decoded (FT line breaks become newlines; repetitions are lines)
--   CE, CWE, CNE  → value_code_system / value_code / value_display
-- Other types (ED, RP, DT, TS…) keep only value_type. The result belongs to the OBR before it
-- (diagnostic_report_id, for result messages), the patient of the PID before it and the visit of that
-- patient group's PV1. Effective time: OBX-14, else the report's OBR-7.
with obx as (
    select s.* exclude (segment_id)
    from {{ ref('stg_hl7_segment') }} s
    where s.segment_id = 'OBX'
),
linked as (
    select
        obx.*,
        p.patient_id,
        coalesce(p.segment_index, 0) as pid_index,
        v.encounter_id as pv1_encounter_id,
        coalesce(v.segment_index, 0) as pv1_index,
        r.diagnostic_report_id as obr_report_id,
        coalesce(r.segment_index, 0) as obr_index,
        r.encounter_id as report_encounter_id,
        r.effective_at as report_effective_at,
        r.issued_at as report_issued_at
    from obx
    asof left join {{ ref('stg_hl7_pid') }} p
        on p.message_key = obx.message_key and obx.segment_index > p.segment_index
    asof left join {{ ref('stg_hl7_pv1') }} v
        on v.message_key = obx.message_key and obx.segment_index > v.segment_index
    asof left join {{ ref('stg_hl7_diagnostic_report') }} r
        on r.message_key = obx.message_key and obx.segment_index > r.segment_index
),
leaves as (
    select
        * exclude (fields),
        {{ hl7_raw(2) }} as obx_2,
        {{ hl7_raw(3, c=1) }} as obx_3_1,
        {{ hl7_raw(3, c=2) }} as obx_3_2,
        {{ hl7_raw(3, c=3) }} as obx_3_3,
        {{ hl7_raw(3, c=4) }} as obx_3_4,
        {{ hl7_raw(3, c=5) }} as obx_3_5,
        {{ hl7_raw(3, c=6) }} as obx_3_6,
        {{ hl7_field(5) }} as obx_5,
        -- OBX-5, first repetition, components 1–4 and 9 (CWE original text).
        {{ hl7_leaf(hl7_field(5), c=1) }} as obx_5_1,
        {{ hl7_leaf(hl7_field(5), c=2) }} as obx_5_2,
        {{ hl7_leaf(hl7_field(5), c=3) }} as obx_5_3,
        {{ hl7_leaf(hl7_field(5), c=4) }} as obx_5_4,
        {{ hl7_leaf(hl7_field(5), c=9) }} as obx_5_9,
        {{ hl7_raw(6, c=1) }} as obx_6_1,
        {{ hl7_raw(6, c=2) }} as obx_6_2,
        {{ hl7_raw(7) }} as obx_7,
        {{ hl7_raw(8) }} as obx_8,
        {{ hl7_raw(11) }} as obx_11,
        {{ hl7_raw(14) }} as obx_14
    from linked
),
decoded as (
    select
        *,
        upper({{ hl7_text('obx_2') }}) as hl7_type,
        {{ hl7_text('obx_3_1') }} as code_1,
        {{ hl7_text('obx_3_2') }} as display_1,
        {{ hl7_text('obx_3_3') }} as system_1,
        {{ hl7_text('obx_3_4') }} as code_2,
        {{ hl7_text('obx_3_5') }} as display_2,
        {{ hl7_text('obx_3_6') }} as system_2,
        {{ hl7_text('obx_5_1') }} as value_1,
        {{ hl7_text('obx_5_2') }} as value_2,
        {{ hl7_text('obx_5_3') }} as value_3,
        {{ hl7_text('obx_5_4') }} as value_4,
        {{ hl7_text('obx_5_9') }} as value_9,
        coalesce({{ hl7_text('obx_6_1') }}, {{ hl7_text('obx_6_2') }}) as unit,
        {{ hl7_text('obx_7') }} as reference_range,
        {{ hl7_text('obx_8') }} as interpretation_code,
        upper({{ hl7_text('obx_11') }}) as result_status,
        {{ hl7_datetime('obx_14', 'timezone') }} as observed_at
    from leaves
),
typed as (
    select
        *,
        -- NM sent with a comparator or spaces (`<5`, `>= 90`, ` 4.2`): the comparator and the number.
        regexp_extract(value_1, '^\s*(<=|>=|<>|<|>|=)?\s*([+-]?(?:[0-9]+[.]?[0-9]*|[.][0-9]+))\s*$', ['comparator', 'number']) as nm
    from decoded
),
text_lines as (
    -- ST, TX and FT: every repetition of OBX-5 is a line of text (component 1, decoded).
    select message_key, segment_index, position, {{ hl7_text(hl7_comp('line', 1)) }} as line_text
    from (
        select message_key, segment_index, delimiters, unnest(string_split(obx_5, delimiters[3])) as line, generate_subscripts(string_split(obx_5, delimiters[3]), 1) as position
        from leaves
        where upper(split_part(obx_2, delimiters[2], 1)) in ('ST', 'TX', 'FT')
    )
),
text_values as (
    select message_key, segment_index, nullif(string_agg(coalesce(line_text, ''), chr(10) order by position), '') as value_string
    from text_lines
    group by message_key, segment_index
)
select
    {{ hl7_id('Observation', ['t.message_key', 't.segment_index']) }} as observation_id,
    -- Only an OBR of this patient group is this result's report.
    case when obr_index > pid_index then obr_report_id end as diagnostic_report_id,
    patient_id,
    coalesce(case when obr_index > pid_index then report_encounter_id end, case when pv1_index > pid_index then pv1_encounter_id end) as encounter_id,
    {{ hl7_coding_system('system_1') }} as code_system,
    code_1 as code,
    display_1 as display,
    -- OBX-3 as FHIR codings: the identifier and, when sent, the alternate identifier (CE-4…6).
    list_filter([
        {'system': {{ hl7_coding_system('system_1') }}, 'code': code_1, 'display': display_1},
        {'system': {{ hl7_coding_system('system_2') }}, 'code': code_2, 'display': display_2}
    ], lambda c: c.code is not null) as codings,
    case
        when hl7_type = 'NM' then 'Quantity'
        when hl7_type = 'SN' then case value_3 when '-' then 'Range' when ':' then 'Ratio' when '/' then 'Ratio' else 'Quantity' end
        when hl7_type in ('ST', 'TX', 'FT') then 'string'
        when hl7_type in ('CE', 'CWE', 'CNE') then 'CodeableConcept'
        when hl7_type in ('DT', 'DTM', 'TS') then 'dateTime'
        when hl7_type = 'TM' then 'time'
        when hl7_type in ('ED', 'RP') then 'Attachment'
        else hl7_type
    end as value_type,
    case
        when hl7_type = 'NM' then nullif(nm.comparator, '')
        when hl7_type = 'SN' then value_1
    end as value_comparator,
    case
        when hl7_type = 'NM' then try_cast(nullif(nm.number, '') as double)
        when hl7_type = 'SN' then try_cast(trim(value_2) as double)
    end as value_number,
    case when hl7_type = 'SN' then value_3 end as value_separator,
    case when hl7_type = 'SN' then try_cast(trim(value_4) as double) end as value_number_2,
    unit,
    x.value_string,
    case when hl7_type in ('CE', 'CWE', 'CNE') then {{ hl7_coding_system('value_3') }} end as value_code_system,
    case when hl7_type in ('CE', 'CWE', 'CNE') then value_1 end as value_code,
    case when hl7_type in ('CE', 'CWE', 'CNE') then coalesce(value_2, value_9) end as value_display,
    reference_range,
    -- `low-high`, `<high`, `>low` (OBX-7 as most laboratories send it).
    try_cast(coalesce(
        nullif(regexp_extract(reference_range, '^\s*([+-]?[0-9]*[.]?[0-9]+)\s*-\s*[+-]?[0-9]*[.]?[0-9]+\s*$', 1), ''),
        nullif(regexp_extract(reference_range, '^\s*>=?\s*([+-]?[0-9]*[.]?[0-9]+)\s*$', 1), '')) as double) as reference_low,
    try_cast(coalesce(
        nullif(regexp_extract(reference_range, '^\s*[+-]?[0-9]*[.]?[0-9]+\s*-\s*([+-]?[0-9]*[.]?[0-9]+)\s*$', 1), ''),
        nullif(regexp_extract(reference_range, '^\s*<=?\s*([+-]?[0-9]*[.]?[0-9]+)\s*$', 1), '')) as double) as reference_high,
    -- OBX-8 (table 0078): its codes are those of v3 ObservationInterpretation.
    interpretation_code,
    -- OBX-11 (table 0085) as a FHIR Observation status.
    case result_status
        when 'F' then 'final' when 'U' then 'final' when 'V' then 'final'
        when 'P' then 'preliminary' when 'R' then 'preliminary' when 'S' then 'preliminary'
        when 'C' then 'corrected'
        when 'A' then 'amended' when 'B' then 'amended'
        when 'D' then 'entered-in-error' when 'W' then 'entered-in-error'
        when 'X' then 'cancelled' when 'N' then 'cancelled'
        when 'I' then 'registered' when 'O' then 'registered'
    end as status,
    coalesce(observed_at, case when obr_index > pid_index then report_effective_at end) as effective_at,
    case when obr_index > pid_index then report_issued_at end as issued_at,
    message_time as last_updated,
    _source,
    _run_id,
    _file,
    _record
from typed t
left join text_values x using (message_key, segment_index)
