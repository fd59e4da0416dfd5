-- Linkage's cannot-link rule: no person may hold two different verified NHS numbers (test-range
-- numbers count only where linkage is told to accept them).
select x.person_id, count(distinct p.nhs_number) as verified_numbers
from {{ ref('person_xref') }} x
join {{ ref('stg_patient_record') }} p on p.source_record_id = x.source_record_id
where p.nhs_number_verified and p.nhs_number_valid
  {% if not var('linkage_accept_test_nhs_numbers', false) %}and not starts_with(p.nhs_number, '999'){% endif %}
group by x.person_id
having count(distinct p.nhs_number) > 1
