-- Inpatient admissions per week by providing organisation, with how many of them have been discharged
-- and their mean length of stay. True counts: disclosure control is applied when they are served.
select
    admitted_week,
    provider_ods,
    count(*) as admissions,
    count(length_of_stay_days) as discharges,
    avg(length_of_stay_days) as mean_length_of_stay_days
from {{ ref('encounter') }}
where class_code = 'IMP' and admitted_week is not null and provider_ods is not null
group by admitted_week, provider_ods
