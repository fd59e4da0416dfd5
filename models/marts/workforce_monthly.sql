-- Monthly workforce snapshot: for each month, staff group and organisation, the people with an
-- assignment active on the snapshot date (headcount: distinct people) and the FTE of those
-- assignments. The snapshot date is the month's last day, or for the month in progress the as-of
-- date (the latest file date in the current state). Months run back `esr_snapshot_months` (default
-- 24) from the as-of month; a group with nobody in a month has no row. Built from the current state,
-- so an assignment ESR has deleted leaves no history: earlier months count today's assignments by
-- their start and end dates.
with as_of as (
    select max(file_date) as as_of_date
    from {{ ref('stg_esr_go_file') }}
    where in_current_state
),
months as (
    select
        month_start::date as month,
        least(last_day(month_start::date), as_of_date) as snapshot_date
    from as_of,
        range(
            date_trunc('month', as_of_date) - to_months({{ var('esr_snapshot_months', 24) }} - 1),
            date_trunc('month', as_of_date) + interval 1 month,
            interval 1 month
        ) as r(month_start)
)
select
    m.month,
    m.snapshot_date,
    a.vpd,
    a.staff_group,
    a.organisation_id,
    any_value(a.organisation_name) as organisation_name,
    count(distinct a.person_key) as headcount,
    round(sum(a.fte), 2) as fte
from months m
join {{ ref('workforce_assignment') }} a
    on a.assignment_start <= m.snapshot_date
    and (a.assignment_end is null or a.assignment_end >= m.snapshot_date)
group by m.month, m.snapshot_date, a.vpd, a.staff_group, a.organisation_id
