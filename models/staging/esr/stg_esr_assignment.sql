-- Current ESR assignments; the job name carries `StaffGroup|JobRole`.
with current_assignment as (
    {{ esr_current(source('esr', 'assignment'), 'assignment_id') }}
)
select
    assignment_id,
    person_id,
    assignment_number,
    nullif(split_part(job_name, '|', 1), '') as staff_group,
    nullif(split_part(job_name, '|', 2), '') as job_role,
    org_id as organisation_id,
    position_id,
    try_cast(fte as double) as fte,
    try_cast(normal_hours as double) as contracted_hours,
    try_strptime(effective_start_date, '%Y%m%d')::date as assignment_start,
    try_strptime(assignment_end_date, '%Y%m%d')::date as assignment_end,
    user_assignment_status,
    _source,
    _run_id
from current_assignment
