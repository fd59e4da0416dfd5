-- Current ESR people: keys and employment facts only. Names, date of birth, contact details and the
-- raw line stay in raw; the NI number is read here only to be tokenised, so staging never holds it.
-- A table, not a view: `pseudonym()` is registered on the build connection only (see
-- transforms/pseudonymisation/pseudonymSqlFunction.ts), and a view calling it could not be read
-- from any other connection.
{{ config(materialized='table') }}
with current_person as (
    {{ esr_current(source('esr', 'person'), 'person_id', ref('stg_esr_go_file')) }}
)
select
    _vpd as vpd,
    person_id,
    employee_number,
    pseudonym('esr_person', person_id) as person_key,
    pseudonym('esr_employee', employee_number) as employee_key,
    pseudonym('ni_number', ni_number) as ni_number_key,
    gender,
    hire_date,
    actual_termination_date as termination_date,
    employee_status_flag,
    user_person_type,
    effective_start_date,
    last_update_at,
    _file_sequence as file_sequence,
    _file_date as file_date,
    _source,
    _run_id
from current_person
