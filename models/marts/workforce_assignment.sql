-- Current workforce assignments with staff group, role, organisation and FTE.
select
    a.assignment_id,
    a.person_id,
    a.staff_group,
    a.job_role,
    a.organisation_id,
    a.fte,
    a.contracted_hours,
    a.assignment_start,
    a.assignment_end
from {{ ref('stg_esr_assignment') }} a
join {{ ref('stg_esr_person') }} p using (person_id)
