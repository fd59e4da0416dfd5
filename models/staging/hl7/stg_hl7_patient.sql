-- One row per hospital patient identity (MRN), from the latest message that carried it. Identities
-- retired by an A40 merge are kept (the merge is recorded in stg_hl7_patient_merge).
select
    mrn as patient_id,
    mrn,
    mrn_authority,
    nhs_number,
    {{ nhs_number_valid('nhs_number') }} as nhs_number_valid,
    nhs_number_status,
    given_name,
    family_name,
    birth_date,
    sex,
    postcode,
    message_at as last_message_at
from {{ ref('stg_hl7_pid') }}
where mrn is not null
qualify row_number() over (partition by mrn order by message_at desc nulls last, message_key desc) = 1
