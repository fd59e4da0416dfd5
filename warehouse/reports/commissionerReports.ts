// The commissioner reports carelake ships with. Each reads only the commissioner serving file; every
// count column passes through the disclosure policy before it is shown or downloaded.

import type { ReportDefinition } from './reportDefinitions.ts';

export const commissionerReports: ReportDefinition[] = [
  {
    id: 'patients-by-practice',
    title: 'Registered patients by GP practice',
    description: 'Distinct people in GP records at each practice.',
    sql: 'SELECT practice_ods AS "GP practice (ODS)", patients AS "Patients" FROM srv_patients_by_practice ORDER BY practice_ods',
    countColumns: ['Patients'],
  },
  {
    id: 'condition-prevalence',
    title: 'Long-term condition prevalence',
    description: 'People with each condition (SNOMED CT), from GP and hospital records combined.',
    sql: 'SELECT condition AS "Condition", snomed_code AS "SNOMED CT", patients AS "Patients" FROM srv_condition_prevalence ORDER BY patients DESC, snomed_code',
    countColumns: ['Patients'],
  },
  {
    id: 'admissions-by-week',
    title: 'Admissions per week by provider',
    description: 'Inpatient admissions from hospital ADT feeds and GP-record encounters, by week of admission.',
    sql: 'SELECT strftime(admitted_week, \'%Y-%m-%d\') AS "Week starting", provider_ods AS "Provider (ODS)", admissions AS "Admissions" FROM srv_admissions_by_week ORDER BY admitted_week, provider_ods',
    countColumns: ['Admissions'],
  },
  {
    id: 'workforce-by-staff-group',
    title: 'Workforce headcount by staff group',
    description: 'People with a current ESR assignment, by staff group.',
    sql: 'SELECT staff_group AS "Staff group", headcount AS "Headcount" FROM srv_workforce_by_staff_group ORDER BY staff_group',
    countColumns: ['Headcount'],
  },
  {
    id: 'workforce-monthly',
    title: 'Workforce by month, staff group and organisation',
    description: 'People with an ESR assignment active at the end of each month (or on the latest file date for the month in progress), and their whole-time equivalent.',
    // FTE is shown as a whole number and disclosure-controlled like a count: a small FTE describes a
    // handful of people just as a small headcount does.
    sql: `SELECT strftime(month, '%Y-%m') AS "Month", staff_group AS "Staff group", organisation_name AS "Organisation",
                 headcount AS "Headcount", CAST(round(fte) AS BIGINT) AS "FTE"
          FROM srv_workforce_monthly ORDER BY month, staff_group, organisation_name`,
    countColumns: ['Headcount', 'FTE'],
  },
];
