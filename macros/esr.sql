{#- The GO file sequence number of a raw ESR row's file (…_<seq8>.DAT), for applying files in order. -#}
{% macro esr_file_sequence(file_column) -%}
try_cast(regexp_extract({{ file_column }}, '_([0-9]{8})\.DAT$', 1) as bigint)
{%- endmacro %}

{#- Current state of an ESR record family: the last record per key across files in sequence order;
    a key whose last record is a delete is gone. -#}
{% macro esr_current(relation, key) -%}
select * exclude (_rank)
from (
    select *, row_number() over (partition by {{ key }} order by {{ esr_file_sequence('_file') }} desc, _record desc) as _rank
    from {{ relation }}
)
where _rank = 1 and action = 'upsert'
{%- endmacro %}
