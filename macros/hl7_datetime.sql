{#- HL7 v2 date/times (DTM, and component 1 of the older TS) in SQL: the grammar and the decisions of
    pipelines/hl7v2/timestamp.ts, `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`, so a value staged in
    SQL means what the parser says it means (tests/unit/hl7v2/timestampSql.test.ts runs both over one
    table of cases). In short: a `^…` TS tail is ignored; empty, `""` and anything malformed or out of
    range (month 13, 29 February 2023, second 60, year 0000, offset beyond ±1400) give NULL; a value
    without an offset is wall-clock time in the zone `tz_expr` (a column or a quoted literal), placed by
    DuckDB's own rules for clock changes (a time in the spring gap moves forward by the gap, a time the
    autumn change repeats is its later occurrence). Each macro is one expression, for inlining in a SELECT.

    Speed: the parts are captured by one regexp_extract into a STRUCT, repeated textually below; DuckDB
    evaluates the repeated expression once per row: under a second per million values with a literal zone;
    a zone taken from a column costs several times more (DuckDB's ICU looks the zone up per row). -#}

{#- The parts of component 1 as a STRUCT of digit strings: y, mo, d, h, mi, s, f (fraction), z (±HHMM),
    each '' when absent, and all '' when the layout is wrong. The nesting keeps each part after the one
    before it, and the fraction after the seconds. -#}
{% macro hl7_dtm_parts(expr) -%}
regexp_extract(split_part({{ expr }}, '^', 1), '^([0-9]{4})(?:([0-9]{2})(?:([0-9]{2})(?:([0-9]{2})(?:([0-9]{2})(?:([0-9]{2})(?:[.]([0-9]{1,4}))?)?)?)?)?)?([+-][0-9]{4})?$', ['y', 'mo', 'd', 'h', 'mi', 's', 'f', 'z'])
{%- endmacro %}

{#- True when the parts are a real date/time. The ranges are those of timestamp.ts; try_strptime checks
    the day against its month, leap years counted. nullif(…, '') keeps absent parts out of the casts. -#}
{% macro hl7_dtm_valid(p) -%}
(({{ p }}).y not in ('', '0000')
    and coalesce(nullif(({{ p }}).mo, '')::int between 1 and 12, true)
    and (({{ p }}).d = '' or try_strptime(({{ p }}).y || ({{ p }}).mo || ({{ p }}).d, '%Y%m%d') is not null)
    and coalesce(nullif(({{ p }}).h, '')::int <= 23, true)
    and coalesce(nullif(({{ p }}).mi, '')::int <= 59, true)
    and coalesce(nullif(({{ p }}).s, '')::int <= 59, true)
    and coalesce(nullif(substr(({{ p }}).z, 4, 2), '')::int <= 59, true)
    and coalesce(abs({{ hl7_dtm_offset_minutes(p) }}) <= 840, true))
{%- endmacro %}

{#- The ±HHMM offset in minutes (e.g. -0130 → -90); NULL when absent. -#}
{% macro hl7_dtm_offset_minutes(p) -%}
(case when ({{ p }}).z <> '' then (case when starts_with(({{ p }}).z, '-') then -1 else 1 end)
    * (substr(({{ p }}).z, 2, 2)::int * 60 + substr(({{ p }}).z, 4, 2)::int) end)
{%- endmacro %}

{#- The wall-clock TIMESTAMP the parts spell, absent parts at their start; the fraction to the microsecond.
    Only for valid parts: make_timestamp fails on an impossible date. -#}
{% macro hl7_dtm_wall(p) -%}
(make_timestamp(({{ p }}).y::bigint, coalesce(nullif(({{ p }}).mo, '')::bigint, 1), coalesce(nullif(({{ p }}).d, '')::bigint, 1),
        coalesce(nullif(({{ p }}).h, '')::bigint, 0), coalesce(nullif(({{ p }}).mi, '')::bigint, 0), coalesce(nullif(({{ p }}).s, '')::double, 0))
    + to_microseconds(rpad(({{ p }}).f, 6, '0')::bigint))
{%- endmacro %}

{#- TIMESTAMPTZ at the start of the period an HL7 DTM/TS value names; NULL when empty or invalid. -#}
{% macro hl7_datetime(expr, tz_expr) -%}
{%- set p = hl7_dtm_parts(expr) -%}
case when {{ hl7_dtm_valid(p) }} then
    case when ({{ p }}).z = '' then timezone({{ tz_expr }}, {{ hl7_dtm_wall(p) }})
    else timezone('UTC', {{ hl7_dtm_wall(p) }} - to_minutes({{ hl7_dtm_offset_minutes(p) }})) end
end
{%- endmacro %}

{#- The precision of an HL7 DTM/TS value: year, month, day, hour, minute, second, or millisecond for any
    fraction (1–4 digits); NULL when empty or invalid. -#}
{% macro hl7_datetime_precision(expr) -%}
{%- set p = hl7_dtm_parts(expr) -%}
case when {{ hl7_dtm_valid(p) }} then
    case when ({{ p }}).f <> '' then 'millisecond' when ({{ p }}).s <> '' then 'second' when ({{ p }}).mi <> '' then 'minute'
        when ({{ p }}).h <> '' then 'hour' when ({{ p }}).d <> '' then 'day' when ({{ p }}).mo <> '' then 'month' else 'year' end
end
{%- endmacro %}

{#- The calendar DATE of a DT/DTM value as sent (PID-7 birth dates, often sent with a time): its date
    part, with no zone conversion; NULL when the value has no day, or is empty or invalid. -#}
{% macro hl7_date(expr) -%}
{%- set p = hl7_dtm_parts(expr) -%}
case when ({{ p }}).d <> '' and {{ hl7_dtm_valid(p) }} then make_date(({{ p }}).y::int, ({{ p }}).mo::int, ({{ p }}).d::int) end
{%- endmacro %}
