{#- HL7 v2 helpers over raw segments (`source('hl7', 'segments')`), the SQL side of pipelines/hl7v2.

    `fields` holds the segment id at list index 1, so HL7 field n (1-based, as in PID-3) sits at index
    n + 1; for MSH, index 2 is MSH-1 (the field separator) and index 3 MSH-2.

    Every message declares its own delimiters, so nothing here assumes `|^~\&`: each accessor reads the
    row's `delimiters` column (MSH-1 then MSH-2, e.g. `|^~\&` or `|^~\&#`; pass another expression as
    `d`): field d[1], component d[2], repetition d[3], escape d[4], subcomponent d[5], truncation d[6].

    Accessors return raw text (escapes intact, '' when absent). Decode only at the leaf, with
    hl7_text(), so an escaped `\S\` never becomes a component separator. hl7_value(n, …) does both.

    hl7_text() and hl7_datetime() are large expressions that repeat their argument, so in a model pick
    the raw leaves into columns first (hl7_raw) and decode those columns in a later step; and never
    decode inside a lambda (see hl7_unescape). Each macro is one expression (hl7_identifier_leaves:
    a list of select items); lambda parameters are prefixed `hl7_` so they do not shadow columns. -#}

{#- HL7 field n of a raw segment (list index n + 1). -#}
{% macro hl7_field(n, fields='fields') -%}
{{ fields }}[{{ n + 1 }}]
{%- endmacro %}

{#- Repetition r (1-based) of a field value, raw. -#}
{% macro hl7_rep(expr, r=1, d='delimiters') -%}
split_part({{ expr }}, {{ d }}[3], {{ r }})
{%- endmacro %}

{#- Component c (1-based) of a field or repetition value, raw. -#}
{% macro hl7_comp(expr, c=1, d='delimiters') -%}
split_part({{ expr }}, {{ d }}[2], {{ c }})
{%- endmacro %}

{#- Subcomponent s (1-based) of a component value, raw. -#}
{% macro hl7_sub(expr, s=1, d='delimiters') -%}
split_part({{ expr }}, {{ d }}[5], {{ s }})
{%- endmacro %}

{#- The raw leaf at repetition r, component c, subcomponent s of a field value. -#}
{% macro hl7_leaf(expr, r=1, c=1, s=1, d='delimiters') -%}
{{ hl7_sub(hl7_comp(hl7_rep(expr, r, d), c, d), s, d) }}
{%- endmacro %}

{#- The non-empty repetitions of a field value, in order, as VARCHAR[] (raw); [] when the field is empty. -#}
{% macro hl7_repetitions(expr, d='delimiters') -%}
list_filter(string_split(coalesce({{ expr }}, ''), {{ d }}[3]), lambda hl7_r: hl7_r <> '')
{%- endmacro %}

{#- A whole leaf (component or subcomponent) decoded: the SQL twin of decodeHl7Text (pipelines/hl7v2/
    escapes.ts, 'latin1' encoding), and NULL for an absent leaf ('') and for the explicit HL7 null `""`
    (and for a leaf that decodes to nothing, such as `\H\`). A value without the escape character is
    returned as it is, without further work. -#}
{% macro hl7_text(expr, d='delimiters') -%}
(case
    when ({{ expr }}) is null or ({{ expr }}) in ('', '""') then null
    when strpos({{ expr }}, {{ d }}[4]) = 0 then ({{ expr }})
    else nullif({{ hl7_unescape(expr, d) }}, '')
end)
{%- endmacro %}

{#- Escape decoding proper, in two ways that give the same text.

    Usually with plain string functions: each escape character becomes U+E000, a regular expression
    pairs them from the left exactly as decodeHl7Text does (an escape, its body, the next escape) and
    marks each pair as U+E001 body U+E002, each known body is replaced by its text, and whatever is
    left — unknown bodies, an unterminated escape — goes back to the escape character as sent.

    A value with `\X…\`, `\.sp n\` or `\.sk n\` (whose output depends on the body), or one that already
    holds one of those three private-use characters, takes hl7_unescape_split() instead. That one
    runs a lambda per escape body, which DuckDB sets up anew for every vector it touches: keeping it
    for rare values keeps decoding a column of mostly plain text nearly free. -#}
{% macro hl7_unescape(expr, d='delimiters') -%}
(case
    when regexp_matches({{ expr }} || {{ d }}, '[\x{E000}-\x{E002}]')
        or contains({{ expr }}, {{ d }}[4] || 'X') or contains({{ expr }}, {{ d }}[4] || '.s')
        then {{ hl7_unescape_split(expr, d) }}
    else
        replace(replace(replace(
        regexp_replace(
        replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
            regexp_replace(replace({{ expr }}, {{ d }}[4], chr(57344)), '\x{E000}([^\x{E000}]*)\x{E000}', chr(57345) || '\1' || chr(57346), 'g'),
            chr(57345) || 'F' || chr(57346), {{ d }}[1]),
            chr(57345) || 'S' || chr(57346), {{ d }}[2]),
            chr(57345) || 'T' || chr(57346), {{ d }}[5]),
            chr(57345) || 'R' || chr(57346), {{ d }}[3]),
            chr(57345) || 'E' || chr(57346), {{ d }}[4]),
            chr(57345) || 'P' || chr(57346), coalesce(nullif({{ d }}[6], ''), chr(57345) || 'P' || chr(57346))),
            chr(57345) || 'H' || chr(57346), ''),
            chr(57345) || 'N' || chr(57346), ''),
            chr(57345) || '.br' || chr(57346), chr(10)),
            chr(57345) || '.fi' || chr(57346), ''),
            chr(57345) || '.nf' || chr(57346), ''),
            chr(57345) || '.ce' || chr(57346), ''),
            '\x{E001}[.](?:in|ti){{ hl7_js_space() }}*[+-]?[0-9]{1,3}\x{E002}', '', 'g'),
            chr(57344), {{ d }}[4]), chr(57345), {{ d }}[4]), chr(57346), {{ d }}[4])
end)
{%- endmacro %}

{#- The general decoder. Splitting on the escape character pairs escapes as decodeHl7Text does: odd
    parts are text, even parts are escape bodies; when the count of escape characters is odd, the last
    part is an unterminated escape and is kept raw with its escape character. Each part is zipped with
    the delimiters and the number of parts, so the lambda reads no column from outside. -#}
{% macro hl7_unescape_split(expr, d='delimiters') -%}
{%- set count = "(length(" ~ expr ~ ") - length(replace(" ~ expr ~ ", " ~ d ~ "[4], '')) + 1)" -%}
array_to_string(list_transform(
    list_zip(string_split({{ expr }}, {{ d }}[4]), list_resize([{{ d }}], {{ count }}, {{ d }}), list_resize([{{ count }}], {{ count }}, {{ count }})),
    lambda hl7_z, hl7_i:
        case
            when hl7_i % 2 = 1 then hl7_z[1]
            when hl7_i = hl7_z[3] then (hl7_z[2])[4] || hl7_z[1]
            else coalesce({{ hl7_escape_body('hl7_z[1]', '(hl7_z[2])') }}, (hl7_z[2])[4] || hl7_z[1] || (hl7_z[2])[4])
        end), '')
{%- endmacro %}

{#- White space as JavaScript's \s and String.prototype.trim() define it (RE2's \s is ASCII only). -#}
{% macro hl7_js_space() -%}
[\t\n\x{0B}\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]
{%- endmacro %}

{#- The replacement for one escape body (the text between two escape characters), or NULL to keep it
    raw — decodeEscape() in escapes.ts, case for case. `\Xhh…\` bytes are read as Latin-1, one
    character per byte. -#}
{% macro hl7_escape_body(b, d='delimiters') -%}
case
    when {{ b }} = 'F' then {{ d }}[1]
    when {{ b }} = 'S' then {{ d }}[2]
    when {{ b }} = 'T' then {{ d }}[5]
    when {{ b }} = 'R' then {{ d }}[3]
    when {{ b }} = 'E' then {{ d }}[4]
    when {{ b }} = 'P' then nullif({{ d }}[6], '')
    when {{ b }} in ('H', 'N') then ''
    when starts_with({{ b }}, 'X') then
        case when regexp_full_match(substr({{ b }}, 2), '(?:[0-9A-Fa-f]{2})+') then
            array_to_string(list_transform(regexp_extract_all(substr({{ b }}, 2), '..'), lambda hl7_h: chr(('0x' || hl7_h)::integer)), '')
        end
    when {{ b }} = '.br' then chr(10)
    when substr({{ b }}, 1, 3) in ('.sp', '.sk') then
        repeat(
            case when substr({{ b }}, 1, 3) = '.sp' then chr(10) else ' ' end,
            {{ hl7_repeat_count("regexp_replace(regexp_replace(substr(" ~ b ~ ", 4), '^" ~ hl7_js_space() ~ "+|" ~ hl7_js_space() ~ "+$', '', 'g'), '^[+]', '')") }})
    when {{ b }} in ('.fi', '.nf', '.ce') then ''
    when substr({{ b }}, 1, 3) in ('.in', '.ti') and regexp_full_match(substr({{ b }}, 4), '{{ hl7_js_space() }}*[+-]?[0-9]{1,3}') then ''
end
{%- endmacro %}

{#- The count of a `\.sp n\` or `\.sk n\` (argument trimmed, one leading `+` dropped): 1 when empty,
    the number when it is one to three digits, NULL (keep raw) otherwise. -#}
{% macro hl7_repeat_count(t) -%}
case when {{ t }} = '' then 1 when regexp_full_match({{ t }}, '[0-9]{1,3}') then ({{ t }})::integer end
{%- endmacro %}

{#- The decoded leaf of HL7 field n of a raw segment: hl7_value(5, c=2) is PID-5.2. -#}
{% macro hl7_value(n, r=1, c=1, s=1, fields='fields', d='delimiters') -%}
{{ hl7_text(hl7_leaf(hl7_field(n, fields), r, c, s, d), d) }}
{%- endmacro %}

{#- The raw leaf of HL7 field n (for values that carry no text, such as date/times and codes that go
    on to another macro). -#}
{% macro hl7_raw(n, r=1, c=1, s=1, fields='fields', d='delimiters') -%}
{{ hl7_leaf(hl7_field(n, fields), r, c, s, d) }}
{%- endmacro %}

{#- A stable, opaque id for a curated row: a UUID-shaped MD5 of a kind and the parts that identify it
    (NULL parts count as empty). The same parts always give the same id, across runs and rebuilds. -#}
{% macro hl7_id(kind, parts) -%}
md5(concat_ws(chr(31), '{{ kind }}'{% for part in parts %}, coalesce(({{ part }})::varchar, ''){% endfor %}))::uuid::varchar
{%- endmacro %}

{#- One CX identifier (a repetition of PID-3 or MRG-1) as the STRUCT every staging model shares with
    the FHIR side: system (FHIR URI where one is known), value, type_code (CX.5) and assigner (CX.4.1,
    the assigning authority: an ODS code at NHS trusts). An NHS number is one assigned by `NHS` (sent
    as `^^^NHS^NH`, `^^^NHS^HN` or a bare `^^^NHS`) or by the NHS number OID; its spaces are dropped.
    The arguments are the decoded leaves: CX.1, CX.5, CX.4.1, CX.4.2 and CX.4.3 (hl7_identifier_leaves
    selects them). Decode before, never inside a lambda: see hl7_unescape. -#}
{% macro hl7_identifier(value, type_code, assigner, universal_id, universal_id_type) -%}
{%- set nhs = "coalesce(upper(" ~ assigner ~ ") = 'NHS' or " ~ universal_id ~ " = '2.16.840.1.113883.2.1.4.1', false)" -%}
{
    'system': case
        when {{ nhs }} then 'https://fhir.nhs.uk/Id/nhs-number'
        when upper({{ universal_id_type }}) = 'ISO' then 'urn:oid:' || {{ universal_id }}
        when upper({{ universal_id_type }}) = 'UUID' then 'urn:uuid:' || {{ universal_id }}
        when upper({{ universal_id_type }}) = 'URI' then {{ universal_id }}
    end,
    'value': case when {{ nhs }} then replace({{ value }}, ' ', '') else {{ value }} end,
    'type_code': {{ type_code }},
    'assigner': {{ assigner }}
}
{%- endmacro %}

{#- The decoded leaves of one CX repetition `rep`, as columns id_value, id_type_code, id_assigner,
    id_universal_id and id_universal_id_type, for hl7_identifier(). -#}
{% macro hl7_identifier_leaves(rep, d='delimiters') -%}
{{ hl7_text(hl7_comp(rep, 1, d), d) }} as id_value,
{{ hl7_text(hl7_sub(hl7_comp(rep, 5, d), 1, d), d) }} as id_type_code,
{{ hl7_text(hl7_sub(hl7_comp(rep, 4, d), 1, d), d) }} as id_assigner,
{{ hl7_text(hl7_sub(hl7_comp(rep, 4, d), 2, d), d) }} as id_universal_id,
{{ hl7_text(hl7_sub(hl7_comp(rep, 4, d), 3, d), d) }} as id_universal_id_type
{%- endmacro %}

{#- An HL7 coding system name (table 0396, CE/CWE component 3 or 6) as its FHIR system URI; a name
    with no known URI is kept as sent, so nothing is lost. -#}
{% macro hl7_coding_system(expr) -%}
case upper({{ expr }})
    when 'I10' then 'http://hl7.org/fhir/sid/icd-10'
    when 'ICD10' then 'http://hl7.org/fhir/sid/icd-10'
    when 'ICD-10' then 'http://hl7.org/fhir/sid/icd-10'
    when 'I10C' then 'http://hl7.org/fhir/sid/icd-10-cm'
    when 'ICD10CM' then 'http://hl7.org/fhir/sid/icd-10-cm'
    when 'I9' then 'http://hl7.org/fhir/sid/icd-9-cm'
    when 'I9C' then 'http://hl7.org/fhir/sid/icd-9-cm'
    when 'LN' then 'http://loinc.org'
    when 'LOINC' then 'http://loinc.org'
    when 'SCT' then 'http://snomed.info/sct'
    when 'SNM' then 'http://snomed.info/sct'
    when 'SNOMED' then 'http://snomed.info/sct'
    when 'SNOMEDCT' then 'http://snomed.info/sct'
    when 'UCUM' then 'http://unitsofmeasure.org'
    when 'OPCS4' then 'http://fhir.hl7.org.uk/CodeSystem/OPCS-4'
    when 'OPCS-4' then 'http://fhir.hl7.org.uk/CodeSystem/OPCS-4'
    when 'OPCS' then 'http://fhir.hl7.org.uk/CodeSystem/OPCS-4'
    when 'CVX' then 'http://hl7.org/fhir/sid/cvx'
    when 'RXNORM' then 'http://www.nlm.nih.gov/research/umls/rxnorm'
    when 'C4' then 'http://www.ama-assn.org/go/cpt'
    when 'CPT' then 'http://www.ama-assn.org/go/cpt'
    else {{ expr }}
end
{%- endmacro %}
