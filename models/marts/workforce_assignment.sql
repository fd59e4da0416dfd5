-- Current workforce assignments (the ESR current state: see README, "Workforce models"), one row
-- each, pseudonymised. The person, and the assignment number (which is the employee number, suffixed
-- `-<n>` for a second assignment), are keyed tokens from `pseudonym()`; names, dates of birth, NI
-- numbers and contact details never come here. The cost centre is the assignment's primary costing —
-- its largest percentage split, then lowest allocation id — else its organisation's default.
with primary_costing as (
    select vpd, assignment_id, cost_centre
    from {{ ref('stg_esr_costing') }}
    qualify row_number() over (partition by vpd, assignment_id order by percentage_split desc nulls last, costing_allocation_id) = 1
)
select
    pseudonym('esr_assignment', a.assignment_number) as assignment_key,
    p.person_key,
    a.vpd,
    a.staff_group,
    a.job_role,
    pos.occupation_code,
    a.organisation_id,
    o.organisation_name,
    coalesce(c.cost_centre, o.default_cost_centre) as cost_centre,
    a.fte,
    a.contracted_hours,
    a.assignment_start,
    a.assignment_end,
    a.assignment_status,
    a.assignment_category,
    a.is_primary
from {{ ref('stg_esr_assignment') }} a
join {{ ref('stg_esr_person') }} p on p.vpd = a.vpd and p.person_id = a.person_id
left join {{ ref('stg_esr_position') }} pos on pos.vpd = a.vpd and pos.position_id = a.position_id
left join {{ ref('stg_esr_organisation') }} o on o.vpd = a.vpd and o.organisation_id = a.organisation_id
left join primary_costing c on c.vpd = a.vpd and c.assignment_id = a.assignment_id
