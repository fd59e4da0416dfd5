-- Data quality: every code the curated layer could not map to SNOMED CT, per source and code system,
-- with how many facts carry it — the list to take to a terminology team (or to add to a local map).
-- Conditions, observations and procedures together; a fact sent with no code at all counts under a
-- NULL code. Ambiguous codes (several candidate concepts) are in dq_ambiguous_codes.
select
    source,
    source_system as system,
    source_code as code,
    mode(source_display) as display,
    count(*) as occurrences
from (
    select source, source_system, source_code, source_display, map_rule from {{ ref('condition') }}
    union all
    select source, source_system, source_code, source_display, map_rule from {{ ref('observation') }}
    union all
    select source, source_system, source_code, source_display, map_rule from {{ ref('procedure') }}
)
where map_rule = 'unmapped'
group by source, source_system, source_code
order by occurrences desc, source, system, code
