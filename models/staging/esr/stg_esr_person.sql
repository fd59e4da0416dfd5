-- Current ESR people. Only keys and employment facts: names, date of birth, NI number and contact
-- details stay in raw.
with current_person as (
    {{ esr_current(source('esr', 'person'), 'person_id') }}
)
select
    person_id,
    employee_number,
    gender,
    try_strptime(hire_date, '%Y%m%d')::date as hire_date,
    try_strptime(actual_termination_date, '%Y%m%d')::date as termination_date,
    employee_status_flag,
    _source,
    _run_id
from current_person
