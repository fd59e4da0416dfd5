-- Current ESR positions (the establishment): what a post is, whoever holds it.
with current_position as (
    {{ esr_current(source('esr', 'position'), 'position_id', ref('stg_esr_go_file')) }}
)
select
    _vpd as vpd,
    position_id,
    position_number,
    position_name,
    staff_group,
    job_role,
    occupation_code,
    org_id as organisation_id,
    budgeted_fte,
    payscale,
    grade_step,
    subjective_code,
    hiring_status,
    position_type,
    effective_from,
    nullif(effective_to, date '4712-12-31') as effective_to,
    last_update_at,
    _file_sequence as file_sequence,
    _file_date as file_date,
    _source,
    _run_id
from current_position
