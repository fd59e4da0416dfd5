-- Workforce per month by staff group and organisation: people with an active assignment at the month's
-- snapshot and their whole-time equivalent. True counts; FTE is published only where the headcount is.
select month, staff_group, organisation_name, headcount, fte
from {{ ref('workforce_monthly') }}
