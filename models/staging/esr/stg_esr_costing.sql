-- Current ESR costing allocations (cost centre splits of an assignment). A costing is current only
-- while its assignment is, so person and assignment deletes cascade to it.
with current_costing as (
    {{ esr_current(source('esr', 'costing'), 'costing_allocation_id', ref('stg_esr_go_file')) }}
)
select
    c._vpd as vpd,
    c.costing_allocation_id,
    c.assignment_id,
    c.person_id,
    c.cost_centre,
    c.subjective,
    c.entity_code,
    c.percentage_split,
    c.effective_start_date,
    nullif(c.effective_end_date, date '4712-12-31') as effective_end_date,
    c.last_update_at,
    c._file_sequence as file_sequence,
    c._file_date as file_date,
    c._source,
    c._run_id
from current_costing c
semi join {{ ref('stg_esr_assignment') }} a on a.vpd = c._vpd and a.assignment_id = c.assignment_id
