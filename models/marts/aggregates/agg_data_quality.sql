-- A data-quality scorecard, one row per landing source: how its loads went over the last 30 days (the
-- run ledger, ops.*), how many of its patient records carry an NHS number and whether it passes
-- Modulus 11, and how many of its coded facts no map translates to SNOMED CT. True counts: the
-- commissioner file's disclosure control suppresses and rounds them, and computes the rates from the
-- published counts (aggregates.yml).
--
-- Runs, the last success and freshness describe the feed, not people, so they are dimensions and are
-- published as they are. There is no total row: a total over sources has no last success or freshness
-- to show, and one made here would escape the secondary suppression publishing gives totals it makes.
-- Record figures cover the runs started in the window; the NHS-number and coding figures cover what is
-- in the warehouse now, whenever it landed.
with ledger_runs as (
    select
        source,
        kind,
        status,
        try_cast(started_at as timestamptz) as started_at,
        try_cast(finished_at as timestamptz) as finished_at,
        records_in,
        records_landed,
        records_quarantined,
        records_filtered
    from {{ source('ops', 'runs') }}
    where kind <> 'build'
),
loads as (
    select
        source,
        arg_max(kind, started_at) as source_kind,
        count(*) filter (where in_window) as runs_last_30_days,
        count(*) filter (where in_window and status = 'failed') as failed_runs_last_30_days,
        -- As the runs page and metrics read it: a partial run (some records quarantined) still landed.
        max(finished_at) filter (where status in ('succeeded', 'partial')) as last_success_at,
        coalesce(sum(records_in) filter (where in_window), 0) as records_in,
        coalesce(sum(records_landed) filter (where in_window), 0) as records_landed,
        coalesce(sum(records_quarantined) filter (where in_window), 0) as records_quarantined,
        coalesce(sum(records_filtered) filter (where in_window), 0) as records_filtered
    from (select *, started_at >= now() - interval 30 day as in_window from ledger_runs)
    group by source
),
-- One row per patient as each source knows them: a FHIR Patient, an HL7 v2 patient identity.
nhs_numbers as (
    select
        source,
        count(*) as patient_records,
        count(*) filter (where present) as nhs_number_present_count,
        count(*) filter (where present and valid) as nhs_number_valid_count,
        count(*) filter (where present and not valid) as nhs_number_invalid_count
    from (
        select source, coalesce(trim(nhs_number), '') <> '' as present, {{ nhs_number_valid('nhs_number') }} as valid
        from {{ ref('patient_record') }}
    )
    group by source
),
-- Every coded fact; unmapped ones are those dq_unmapped_codes lists, ambiguous ones dq_ambiguous_codes.
coding as (
    select
        source,
        count(*) as clinical_facts,
        count(*) filter (where map_rule = 'unmapped') as unmapped_facts,
        count(*) filter (where map_rule in ('ambiguous', 'reverse-ambiguous')) as ambiguous_facts
    from (
        select source, map_rule from {{ ref('condition') }}
        union all
        select source, map_rule from {{ ref('observation') }}
        union all
        select source, map_rule from {{ ref('procedure') }}
    )
    group by source
),
sources as (
    select source from loads
    union
    select source from nhs_numbers
    union
    select source from coding
)
select
    s.source,
    l.source_kind,
    coalesce(l.runs_last_30_days, 0)::bigint as runs_last_30_days,
    coalesce(l.failed_runs_last_30_days, 0)::bigint as failed_runs_last_30_days,
    l.last_success_at,
    f.status as freshness_status,
    coalesce(l.records_in, 0)::bigint as records_in,
    coalesce(l.records_landed, 0)::bigint as records_landed,
    coalesce(l.records_quarantined, 0)::bigint as records_quarantined,
    coalesce(l.records_filtered, 0)::bigint as records_filtered,
    coalesce(n.patient_records, 0)::bigint as patient_records,
    coalesce(n.nhs_number_present_count, 0)::bigint as nhs_number_present_count,
    coalesce(n.nhs_number_valid_count, 0)::bigint as nhs_number_valid_count,
    coalesce(n.nhs_number_invalid_count, 0)::bigint as nhs_number_invalid_count,
    coalesce(c.clinical_facts, 0)::bigint as clinical_facts,
    coalesce(c.unmapped_facts, 0)::bigint as unmapped_facts,
    coalesce(c.ambiguous_facts, 0)::bigint as ambiguous_facts
from sources s
left join loads l on l.source = s.source
left join {{ source('ops', 'freshness') }} f on f.source = s.source
left join nhs_numbers n on n.source = s.source
left join coding c on c.source = s.source
order by s.source
