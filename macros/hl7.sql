{#- HL7 v2 helpers over raw segments. `fields` holds the segment id at list index 1, so HL7 field n
    (1-based, as in PID-3) sits at index n + 1; for MSH, MSH-1 (the field separator) is index 2. -#}
{% macro hl7_field(n) -%}
fields[{{ n + 1 }}]
{%- endmacro %}

{#- Component c (1-based) of an HL7 field value, before escape decoding. -#}
{% macro hl7_component(expr, c) -%}
nullif(split_part({{ expr }}, '^', {{ c }}), '')
{%- endmacro %}

{#- HL7 DTM (YYYY[MM[DD[HH[MM[SS]]]]]) to TIMESTAMP at the precision given; offsets ignored here. -#}
{% macro hl7_timestamp(expr) -%}
coalesce(
  try_strptime(substr({{ expr }}, 1, 14), '%Y%m%d%H%M%S'),
  try_strptime(substr({{ expr }}, 1, 12), '%Y%m%d%H%M'),
  try_strptime(substr({{ expr }}, 1, 8), '%Y%m%d'))
{%- endmacro %}
