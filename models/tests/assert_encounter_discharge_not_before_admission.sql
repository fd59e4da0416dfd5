-- An encounter cannot end before it starts: a discharge before its admission is a feed or mapping
-- error (swapped PV1-44/45, a wrong time zone), and it would give a negative length of stay.
select encounter_id, source_kind, admitted_at, discharged_at
from {{ ref('encounter') }}
where discharged_at < admitted_at
