{#- Terminology helpers: the SQL twins of transforms/terminology/icd10.ts (a test keeps them in step).

    ICD-10 codes come dotted (`J45.9`), undotted (`J459`), X-padded with `-` fillers and an NHS dagger
    `D` / asterisk `A` 6th character (`I10X`, `A170-D`, `G01X-A`), or printed with `†`/`*`. Each macro
    reads any of them and returns NULL for text that is not an ICD-10 code. They are plain expressions
    (no subqueries), cheap enough for every fact of a large table. -#}

{#- The pattern, applied to the code upper-cased without spaces, the dot after the category and a trailing †/+/* (icd10_clean). -#}
{% macro icd10_pattern() -%}
'^([A-Z][0-9]{2})(?:([0-9])([0-9]|-)?|X-?|--?)?([AD])?$'
{%- endmacro %}

{% macro icd10_clean(expr) -%}
regexp_replace(regexp_replace(regexp_replace(upper({{ expr }}), '\s', '', 'g'), '^([A-Z][0-9]{2})[.]', '\1'), '[†+*]$', '')
{%- endmacro %}

{#- The matching key: upper case, no dot, no padding, no mark (`A170`, `I10`, `S7200`). -#}
{% macro icd10_key(expr) -%}
(case when regexp_full_match({{ icd10_clean(expr) }}, {{ icd10_pattern() }})
    then replace(regexp_replace({{ icd10_clean(expr) }}, {{ icd10_pattern() }}, '\1\2\3'), '-', '') end)
{%- endmacro %}

{#- WHO's dotted form (`A17.0`, `I10`). -#}
{% macro icd10_dotted(expr) -%}
(case when regexp_full_match({{ icd10_clean(expr) }}, {{ icd10_pattern() }})
    then rtrim(replace(regexp_replace({{ icd10_clean(expr) }}, {{ icd10_pattern() }}, '\1.\2\3'), '-', ''), '.') end)
{%- endmacro %}

{#- 'dagger', 'asterisk' or NULL: the NHS 6th character, or the printed mark. -#}
{% macro icd10_mark(expr) -%}
(case when regexp_full_match({{ icd10_clean(expr) }}, {{ icd10_pattern() }}) then
    case
        when regexp_extract({{ icd10_clean(expr) }}, {{ icd10_pattern() }}, 4) = 'D' then 'dagger'
        when regexp_extract({{ icd10_clean(expr) }}, {{ icd10_pattern() }}, 4) = 'A' then 'asterisk'
        when regexp_matches(rtrim(upper({{ expr }})), '[†+]$') then 'dagger'
        when regexp_matches(rtrim(upper({{ expr }})), '[*]$') then 'asterisk'
    end
end)
{%- endmacro %}
