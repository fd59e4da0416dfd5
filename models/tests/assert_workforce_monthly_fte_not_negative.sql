-- Whole-time equivalent is a share of a full-time contract: a negative monthly FTE means a change file
-- was applied out of order or a deletion was counted twice.
{{ config(severity='error', tags=['workforce']) }}
select *
from {{ ref('workforce_monthly') }}
where fte < 0
