-- agg_condition_prevalence_lineage explains agg_condition_prevalence cell by cell: every lineage row
-- names a prevalence cell, every cell has lineage, and a cell's people lie between the most any one
-- source and run contributed and the sum over them (a person may be recorded in several runs).
with explained as (
    select snomed_code, practice_ods, max(patients) as most, sum(patients) as summed
    from {{ ref('agg_condition_prevalence_lineage') }}
    group by snomed_code, practice_ods
)
select
    coalesce(a.snomed_code, e.snomed_code) as snomed_code,
    coalesce(a.practice_ods, e.practice_ods) as practice_ods,
    a.patients,
    e.most,
    e.summed
from {{ ref('agg_condition_prevalence') }} a
full join explained e on e.snomed_code = a.snomed_code and e.practice_ods = a.practice_ods
where a.snomed_code is null or e.snomed_code is null or a.patients < e.most or a.patients > e.summed
