{#- The SQL twin of transforms/identifiers/nhsNumber.ts: true when `expr` is ten digits whose tenth is
    the Modulus 11 check digit of the first nine (weights 10…2; a result of 10 is never valid). -#}
{% macro nhs_number_valid(expr) -%}
{%- set digits -%}
{%- for i in range(1, 10) -%}try_cast(substr({{ expr }}, {{ i }}, 1) AS INTEGER) * {{ 11 - i }}{% if not loop.last %} + {% endif %}{%- endfor -%}
{%- endset -%}
coalesce(regexp_full_match({{ expr }}, '[0-9]{10}')
  AND (CASE 11 - (({{ digits }}) % 11) WHEN 11 THEN 0 WHEN 10 THEN -1 ELSE 11 - (({{ digits }}) % 11) END)
      = try_cast(substr({{ expr }}, 10, 1) AS INTEGER), false)
{%- endmacro %}
