-- Data quality: codes the registered maps know but cannot settle on one SNOMED CT concept (a reverse
-- lookup of an RF2 map with several candidates, or a forward map with several equally good targets),
-- per source, with the map, its candidate concepts (from terminology.code_lookup) and how many facts
-- carry the code. A curated forward map (a local CSV or ConceptMap) settles the ones that matter.
with ambiguous as (
    select source, source_system, source_code, mode(source_display) as display, map_name, map_rule, count(*) as occurrences
    from (
        select source, source_system, source_code, source_display, map_name, map_rule from {{ ref('condition') }}
        union all
        select source, source_system, source_code, source_display, map_name, map_rule from {{ ref('observation') }}
        union all
        select source, source_system, source_code, source_display, map_name, map_rule from {{ ref('procedure') }}
    )
    where map_rule in ('reverse-ambiguous', 'ambiguous')
    group by source, source_system, source_code, map_name, map_rule
)
select
    a.source,
    a.source_system as system,
    a.source_code as code,
    a.display,
    a.map_name,
    a.map_rule,
    l.candidates,
    a.occurrences
from ambiguous a
left join {{ source('terminology', 'code_lookup') }} l
    on l.map_name = a.map_name and l.source_system = a.source_system and l.source_key = {{ code_key('a.source_system', 'a.source_code') }}
order by a.occurrences desc, a.source, system, code
