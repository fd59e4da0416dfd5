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

{#- The key a code is matched on in terminology.code_lookup: codeKey() in transforms/terminology/codeKey.ts. -#}
{% macro code_key(system, code) -%}
(case {{ system }}
    when 'http://hl7.org/fhir/sid/icd-10' then {{ icd10_key(code) }}
    when 'http://fhir.hl7.org.uk/CodeSystem/OPCS-4' then nullif(regexp_replace(upper({{ code }}), '[\s.]', '', 'g'), '')
    else nullif(trim({{ code }}), '')
end)
{%- endmacro %}

{#- Every fact of `relation` with its SNOMED CT concept and how it was found (README, "Terminology").

    `relation` gives, per fact, a SNOMED CT coding sent with it (sent_snomed_code, sent_snomed_display;
    NULL when none) and the coding to translate otherwise (map_system, map_code, map_display: usually
    ICD-10 or a local code). A sent SNOMED CT code is used as it is (rule `exact`, no map). Otherwise the
    code's key is looked up in terminology.code_lookup, taking the map code_lookup prefers; the rule is
    that map's (`exact`, `local`, `reverse-unique`, `reverse-ambiguous`, `ambiguous`), or `unmapped`.
    An ambiguous fact has no snomed_code; its candidate concepts are kept once per code, in
    terminology.code_lookup (and dq_ambiguous_codes), not copied onto every fact: with a UK map most
    ICD-10 codes have many candidates, and copying them made mapping five times slower.

    Returns the relation's other columns, then source_system, source_code, source_display (the coding
    the concept came from), snomed_code, snomed_display, map_name, map_version and map_rule. Nothing
    is dropped: a fact no map knows is kept with map_rule `unmapped`. -#}
{% macro map_to_snomed(relation) -%}
select
    f.* exclude (map_system, map_code, map_display, sent_snomed_code, sent_snomed_display),
    case when f.sent_snomed_code is not null then 'http://snomed.info/sct' else f.map_system end as source_system,
    case when f.sent_snomed_code is not null then f.sent_snomed_code else f.map_code end as source_code,
    case when f.sent_snomed_code is not null then f.sent_snomed_display else f.map_display end as source_display,
    coalesce(f.sent_snomed_code, r.snomed_code) as snomed_code,
    case when f.sent_snomed_code is not null then coalesce(f.sent_snomed_display, c.display) else r.snomed_display end as snomed_display,
    case when f.sent_snomed_code is null then r.map_name end as map_name,
    case when f.sent_snomed_code is null then r.map_version end as map_version,
    case when f.sent_snomed_code is not null then 'exact' else coalesce(r.map_rule, 'unmapped') end as map_rule
from {{ relation }} f
-- Keys are worked out once per distinct code (thousands) rather than per fact (millions): the ICD-10
-- key is several regular expressions, and most facts share their code with many others.
left join (
    select k.map_system, k.map_code, l.snomed_code, l.snomed_display, l.map_name, l.map_version, l.map_rule
    from (
        select map_system, map_code, {{ code_key('map_system', 'map_code') }} as map_key
        from (select distinct map_system, map_code from {{ relation }} where map_code is not null)
    ) k
    join {{ source('terminology', 'code_lookup') }} l
        on l.is_preferred and l.source_system = k.map_system and l.source_key = k.map_key
) r on r.map_system = f.map_system and r.map_code = f.map_code
left join {{ source('terminology', 'concepts') }} c on c.code = f.sent_snomed_code
{%- endmacro %}
