{#- Current state of an ESR record family (see README, "Workforce models").

    `relation` is a raw record family (source('esr', …)), `key` its id column (the one a delete
    carries), `go_files` the file list (ref('stg_esr_go_file')), which says for each landed file its
    VPD, sequence and whether it is part of the current state: the last full file of its VPD and every
    later file, or every file of a VPD that never sent a full one. Records of files without a header
    row, or before that full file, are ignored.

    Within a VPD the last row per key wins, by file sequence and then line number; a key whose last row
    is a delete is gone. Each row comes back with the lineage of the file it came from: `_vpd`,
    `_file_sequence`, `_file_date`. Person deletes cascade in the staging models, not here. -#}
{% macro esr_current(relation, key, go_files) -%}
select * exclude (_esr_rank)
from (
    select
        r.*,
        f.vpd as _vpd,
        f.file_sequence as _file_sequence,
        f.file_date as _file_date,
        row_number() over (partition by f.vpd, r.{{ key }} order by f.file_sequence desc, r._record desc) as _esr_rank
    from {{ relation }} r
    join {{ go_files }} f on f._file = r._file and f.in_current_state
)
where _esr_rank = 1 and action = 'upsert'
{%- endmacro %}
