{#- FHIR JSON helpers over the raw `resource` column. -#}

{#- The value of the first identifier with this system. -#}
{% macro fhir_identifier(system) -%}
json_extract_string(list_filter(json_extract(resource, '$.identifier[*]'), lambda i: json_extract_string(i, '$.system') = '{{ system }}')[1], '$.value')
{%- endmacro %}

{#- The id part of a reference such as "Patient/123". -#}
{% macro fhir_reference_id(path) -%}
split_part(json_extract_string(resource, '{{ path }}'), '/', -1)
{%- endmacro %}

{#- The first coding of a CodeableConcept with this system. -#}
{% macro fhir_coding(path, system, part) -%}
json_extract_string(list_filter(json_extract(resource, '{{ path }}.coding[*]'), lambda c: json_extract_string(c, '$.system') = '{{ system }}')[1], '$.{{ part }}')
{%- endmacro %}
