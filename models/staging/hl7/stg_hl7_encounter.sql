-- One row per visit (encounter_id: see stg_hl7_pv1), FHIR Encounter-shaped so it unions by name with
-- stg_fhir_encounter. The ADT events of a visit are applied in order (MSH-7, then landing order):
--   A05 pre-admit, A14 pending admit                      → planned
--   A01 admit, A04 register (outpatient/ED), A02 transfer,
--   A06/A07 change of class, A12 cancel transfer,
--   A13 cancel discharge, A22 back from leave, A15/A16/A25/A26 → in-progress
--   A21 leave of absence                                  → onleave
--   A03 discharge                                         → finished
--   A11 cancel admit/visit, A27 cancel pending admit,
--   A38 cancel pre-admit                                  → cancelled
-- Updates (A08) change details but not the status (a visit known only from updates is in-progress,
-- or finished once PV1-45 is filled). A discharge undone by a later A13 has no end; an
-- in-progress visit whose PV1-45 is filled is finished. Cancelled visits are kept, with status
-- cancelled: the marts leave them out.
with events as (
    select
        *,
        row_number() over (
            partition by encounter_id
            order by message_time nulls first, _ingested_at, _file, _record, segment_index
        ) as seq,
        case trigger_event
            when 'A05' then 'planned' when 'A14' then 'planned'
            when 'A01' then 'in-progress' when 'A04' then 'in-progress' when 'A02' then 'in-progress'
            when 'A06' then 'in-progress' when 'A07' then 'in-progress' when 'A12' then 'in-progress'
            when 'A13' then 'in-progress' when 'A22' then 'in-progress' when 'A15' then 'in-progress'
            when 'A16' then 'in-progress' when 'A25' then 'in-progress' when 'A26' then 'in-progress'
            when 'A21' then 'onleave'
            when 'A03' then 'finished'
            when 'A11' then 'cancelled' when 'A27' then 'cancelled' when 'A38' then 'cancelled'
        end as event_status
    from {{ ref('stg_hl7_pv1') }}
    where message_type = 'ADT'
        and encounter_id is not null
        and trigger_event in ('A01', 'A02', 'A03', 'A04', 'A05', 'A06', 'A07', 'A08', 'A11', 'A12', 'A13', 'A14',
                              'A15', 'A16', 'A21', 'A22', 'A25', 'A26', 'A27', 'A38')
),
visits as (
    select
        encounter_id,
        arg_max(patient_id, seq) filter (where patient_id is not null) as patient_id,
        arg_max(visit_number, seq) as visit_number,
        arg_max(visit_number_authority, seq) as visit_number_authority,
        arg_max(patient_class, seq) filter (where patient_class is not null) as patient_class,
        arg_max(event_status, seq) filter (where event_status is not null) as last_status,
        max(seq) filter (where trigger_event = 'A03') as last_discharge,
        max(seq) filter (where trigger_event = 'A13') as last_discharge_cancel,
        arg_max(admitted_at, seq) filter (where admitted_at is not null) as admitted_at,
        min(event_at) filter (where trigger_event in ('A01', 'A04')) as first_admit_event_at,
        -- PV1-45 counts only when sent after the last A13 (which undoes a discharge); an A03
        -- without one ends the visit at its event time.
        arg_max(discharged_at, seq) filter (where discharged_at is not null) as discharged_at,
        max(seq) filter (where discharged_at is not null) as discharged_at_seq,
        arg_max(event_at, seq) filter (where trigger_event = 'A03') as discharge_event_at,
        arg_max(location, seq) filter (where location is not null) as location,
        arg_max(location_site, seq) filter (where location_site is not null) as location_site,
        -- Where the patient was, from the events that place them (admit, register, transfer, change
        -- of class, cancel transfer), each from the time of its event.
        list({'location': location, 'site': location_site, 'period_start': case when trigger_event in ('A01', 'A04') then coalesce(admitted_at, event_at) else event_at end} order by seq)
            filter (where location is not null and trigger_event in ('A01', 'A02', 'A04', 'A06', 'A07', 'A12')) as location_events,
        arg_max(admit_source_code, seq) filter (where admit_source_code is not null) as admit_source_code,
        arg_max(discharge_disposition_code, seq) filter (where discharge_disposition_code is not null) as discharge_disposition_code,
        arg_max(sending_facility, seq) filter (where sending_facility is not null) as service_provider_ods,
        max(message_time) as last_updated,
        arg_max(_source, seq) as _source,
        arg_max(_run_id, seq) as _run_id,
        arg_max(_file, seq) as _file,
        arg_max(_record, seq) as _record
    from events
    group by encounter_id
),
resolved as (
    select
        *,
        case
            when coalesce(last_discharge, 0) > coalesce(last_discharge_cancel, 0)
                then coalesce(case when discharged_at_seq > coalesce(last_discharge_cancel, 0) then discharged_at end, discharge_event_at)
            when discharged_at_seq > coalesce(last_discharge_cancel, 0) then discharged_at
        end as period_end
    from visits
)
select
    encounter_id,
    visit_number,
    visit_number_authority,
    patient_id,
    -- PV1-2 (table 0004) as the v2-to-FHIR ConceptMap maps it; classes it leaves in v2-0004 stay as sent.
    case patient_class when 'E' then 'EMER' when 'I' then 'IMP' when 'O' then 'AMB' when 'P' then 'PRENC' else patient_class end as class_code,
    case when patient_class in ('E', 'I', 'O', 'P') then 'http://terminology.hl7.org/CodeSystem/v3-ActCode'
         when patient_class is not null then 'http://terminology.hl7.org/CodeSystem/v2-0004' end as class_system,
    case
        when last_status = 'in-progress' and period_end is not null then 'finished'
        when last_status is not null then last_status
        -- Only updates (A08) seen: the visit is under way, or over when a discharge time came with them.
        when period_end is not null then 'finished'
        when coalesce(admitted_at, first_admit_event_at) is not null then 'in-progress'
        else 'unknown'
    end as status,
    coalesce(admitted_at, first_admit_event_at) as period_start,
    period_end,
    location,
    location_site,
    -- Consecutive events at the same place are one stay there.
    list_filter(location_events, lambda e, i: i = 1 or e.location is distinct from location_events[i - 1].location) as locations,
    admit_source_code,
    discharge_disposition_code,
    null::varchar as service_provider_id,
    service_provider_ods,
    last_updated,
    _source,
    _run_id,
    _file,
    _record
from resolved
