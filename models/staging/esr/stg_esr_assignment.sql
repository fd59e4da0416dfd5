-- Current ESR assignments. Person deletes cascade: an assignment whose person is not current is not
-- current either. The job name is the `StaffGroup|JobRole` sub-field list; the assignment start is
-- its earliest start, since `effective_start_date` only dates this version of the row.
with current_assignment as (
    {{ esr_current(source('esr', 'assignment'), 'assignment_id', ref('stg_esr_go_file')) }}
)
select
    a._vpd as vpd,
    a.assignment_id,
    a.person_id,
    a.assignment_number,
    nullif(a.job_name[1], '') as staff_group,
    nullif(a.job_name[2], '') as job_role,
    a.org_id as organisation_id,
    a.position_id,
    a.fte,
    a.normal_hours as contracted_hours,
    coalesce(a.earliest_assignment_start_date, a.effective_start_date) as assignment_start,
    -- ESR's end of time (4712-12-31) means open-ended.
    nullif(a.assignment_end_date, date '4712-12-31') as assignment_end,
    coalesce(a.user_assignment_status, a.system_assignment_status) as assignment_status,
    a.assignment_category,
    a.primary_assignment = 'Y' as is_primary,
    a.effective_start_date,
    a.last_update_at,
    a._file_sequence as file_sequence,
    a._file_date as file_date,
    a._source,
    a._run_id
from current_assignment a
semi join {{ ref('stg_esr_person') }} p on p.vpd = a._vpd and p.person_id = a.person_id
