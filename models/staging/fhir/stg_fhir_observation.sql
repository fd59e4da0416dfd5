-- One row per FHIR Observation (latest version), read through the fhir_observation ViewDefinitions.
-- Same columns and types as stg_hl7_observation, so the two union by name; code_system/code/display
-- is the first coding of Observation.code, codings all of them.
with codings as (
    -- `codings` is a list of STRUCTs, which a ViewDefinition column cannot hold: one row per coding
    -- in fhir_observation_coding, folded back here in the order sent.
    select
        observation_id,
        list({'system': system, 'code': code, 'display': display} order by coding_index) as codings
    from {{ ref('fhir_observation_coding') }}
    group by observation_id
)
select
    o.observation_id,
    null::varchar as diagnostic_report_id,
    o.patient_id,
    o.encounter_id,
    o.code_system,
    o.code_code as code,
    o.code_display as display,
    coalesce(c.codings, []) as codings,
    -- The type of value[x], as FHIR names it (Quantity, string, CodeableConcept, Range, Ratio…): the
    -- view splits value[x] with ofType(); which one was sent is a choice across its columns.
    case
        when o.has_value_quantity then 'Quantity'
        when o.has_value_codeable_concept then 'CodeableConcept'
        when o.value_string is not null then 'string'
        when o.value_boolean is not null then 'boolean'
        when o.value_integer is not null then 'integer'
        when o.has_value_range then 'Range'
        when o.has_value_ratio then 'Ratio'
        when o.has_value_sampled_data then 'SampledData'
        when o.value_time is not null then 'time'
        when o.value_date_time is not null then 'dateTime'
        when o.has_value_period then 'Period'
    end as value_type,
    coalesce(o.value_quantity_comparator, o.value_range_low_comparator) as value_comparator,
    coalesce(o.value_quantity_value, o.value_range_low_value, o.value_ratio_numerator_value) as value_number,
    case when o.has_value_range then '-' when o.has_value_ratio then ':' end as value_separator,
    coalesce(o.value_range_high_value, o.value_ratio_denominator_value) as value_number_2,
    coalesce(o.value_quantity_unit, o.value_quantity_code, o.value_range_low_unit, o.value_ratio_numerator_unit) as unit,
    o.value_string,
    o.value_codeable_concept_system as value_code_system,
    o.value_codeable_concept_code as value_code,
    coalesce(o.value_codeable_concept_display, o.value_codeable_concept_text) as value_display,
    o.reference_range_text as reference_range,
    o.reference_range_low as reference_low,
    o.reference_range_high as reference_high,
    o.interpretation_code,
    o.status,
    try_cast(coalesce(o.effective_date_time, o.effective_period_start, o.effective_instant) as timestamptz) as effective_at,
    try_cast(o.issued as timestamptz) as issued_at,
    try_cast(o.last_updated as timestamptz) as last_updated,
    o._source,
    o._run_id,
    o._file,
    o._record
from {{ ref('fhir_observation') }} o
left join codings c on c.observation_id = o.observation_id
