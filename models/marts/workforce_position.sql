-- Current ESR positions (the establishment), with their organisation's name.
select
    pos.position_id,
    pos.vpd,
    pos.position_number,
    pos.position_name,
    pos.staff_group,
    pos.job_role,
    pos.occupation_code,
    pos.organisation_id,
    o.organisation_name,
    pos.budgeted_fte,
    pos.payscale,
    pos.grade_step,
    pos.subjective_code,
    pos.hiring_status,
    pos.position_type,
    pos.effective_from,
    pos.effective_to
from {{ ref('stg_esr_position') }} pos
left join {{ ref('stg_esr_organisation') }} o on o.vpd = pos.vpd and o.organisation_id = pos.organisation_id
