{#- One concept from every source in one shape: stg_fhir_<concept> and stg_hl7_<concept> have the same
    columns, so they union by name. Each row gets source_kind, a stable source_record_id
    (<source_kind>/<source>/<resource_type>/<key>), its patient's record id in stg_patient_record
    (patient_record_id, the key person_xref maps to a person) and that patient's NHS number. -#}
{% macro union_by_source(concept, resource_type, key) -%}
{%- for kind in ['fhir', 'hl7'] %}
{% if not loop.first %}union all by name
{% endif -%}
select
    '{{ kind }}' as source_kind,
    concat_ws('/', '{{ kind }}', x._source, '{{ resource_type }}', x.{{ key }}) as source_record_id,
    concat_ws('/', '{{ kind }}', x._source, 'Patient', x.patient_id) as patient_record_id,
    x.*,
    p.nhs_number
from {{ ref('stg_' ~ kind ~ '_' ~ concept) }} x
left join {{ ref('stg_' ~ kind ~ '_patient') }} p on p.patient_id = x.patient_id
{%- endfor %}
{%- endmacro %}
