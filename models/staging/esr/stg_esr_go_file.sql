-- One row per landed ESR GO file, from its header, with its place in the current state: a VPD's last
-- full file resets that VPD, so it and every later file are applied and earlier files are not (every
-- file is applied for a VPD that has never sent a full one). `_file` is what the file's records carry.
with header as (
    -- A file lands once (the ledger skips repeats); the window only guards against a duplicated row.
    select *
    from {{ source('esr', 'header') }}
    qualify row_number() over (partition by _file order by _ingested_at, _run_id) = 1
),
baseline as (
    select vpd, max(file_sequence) filter (where extract = 'full') as baseline_sequence
    from header
    group by vpd
)
select
    h.file_name,
    h.vpd,
    h.extract,
    h.file_sequence,
    h.file_date,
    h.created_at,
    h.previous_run_at,
    h.run_at,
    h.interface_version,
    h.lines,
    b.baseline_sequence,
    b.baseline_sequence is null or h.file_sequence >= b.baseline_sequence as in_current_state,
    h._file,
    h._source,
    h._run_id,
    h._ingested_at
from header h
join baseline b using (vpd)
