-- Laboratory activity per month and test (SNOMED CT): results, people tested, and results outside
-- the reference range (flagged H/L, or beyond the range when no flag was sent). True counts.
select
    date_trunc('month', effective_week)::date as month,
    snomed_code,
    any_value(snomed_display) as test,
    count(*) as results,
    count(distinct person_id) as patients,
    count(*) filter (
        where interpretation_code in ('H', 'HH', 'L', 'LL', 'A', 'AA')
           or (interpretation_code is null and (value_number > reference_high or value_number < reference_low))
    ) as abnormal_results
from {{ ref('observation') }}
where snomed_code is not null and effective_week is not null
group by all
