// The commissioner reports carelake ships with. Each reads only the commissioner serving file, whose
// counts were disclosure-controlled when it was published (a NULL count there is a suppressed one);
// the server passes every count column through the policy again before it is shown or downloaded.

import type { ReportDefinition } from './reportDefinitions.ts';

export const commissionerReports: ReportDefinition[] = [
  {
    id: 'condition-prevalence',
    title: 'Condition prevalence across all practices',
    description: 'People with each condition (SNOMED CT), from GP and hospital records combined, and per 1,000 registered people.',
    sql: `SELECT condition AS "Condition", snomed_code AS "SNOMED CT", patients AS "Patients", per_1000_registered AS "Per 1,000 registered"
          FROM agg_condition_prevalence WHERE is_total ORDER BY patients DESC NULLS LAST, snomed_code`,
    countColumns: ['Patients'],
  },
  {
    id: 'condition-prevalence-by-practice',
    title: 'Condition prevalence by GP practice',
    description: 'People with each condition at each GP practice, and per 1,000 people registered there.',
    sql: `SELECT practice_ods AS "GP practice (ODS)", condition AS "Condition", snomed_code AS "SNOMED CT", patients AS "Patients",
                 registered_patients AS "Registered", per_1000_registered AS "Per 1,000 registered"
          FROM agg_condition_prevalence WHERE NOT is_total ORDER BY practice_ods, snomed_code`,
    countColumns: ['Patients', 'Registered'],
  },
  {
    id: 'admissions-by-week',
    title: 'Admissions per week by provider',
    description: 'Inpatient admissions from hospital ADT feeds and GP-record encounters, by week of admission, with discharges and mean length of stay.',
    sql: `SELECT strftime(admitted_week, '%Y-%m-%d') AS "Week starting", coalesce(provider_ods, 'All providers') AS "Provider (ODS)",
                 admissions AS "Admissions", discharges AS "Discharges", round(mean_length_of_stay_days, 1) AS "Mean length of stay (days)"
          FROM agg_admissions_by_week ORDER BY admitted_week, is_total, provider_ods`,
    countColumns: ['Admissions', 'Discharges'],
  },
  {
    id: 'lab-activity',
    title: 'Laboratory activity by month and test',
    description: 'Results reported, people tested and results outside the reference range.',
    sql: `SELECT strftime(month, '%Y-%m') AS "Month", test AS "Test", snomed_code AS "SNOMED CT", results AS "Results",
                 patients AS "People tested", abnormal_results AS "Outside reference range"
          FROM agg_lab_activity ORDER BY month, test`,
    countColumns: ['Results', 'People tested', 'Outside reference range'],
  },
  {
    id: 'workforce-monthly',
    title: 'Workforce by month, staff group and organisation',
    description: 'People with an ESR assignment active at the end of each month (or on the latest file date for the month in progress), and their whole-time equivalent.',
    sql: `SELECT strftime(month, '%Y-%m') AS "Month", staff_group AS "Staff group", coalesce(organisation_name, 'All organisations') AS "Organisation",
                 headcount AS "Headcount", round(fte, 1) AS "FTE"
          FROM agg_workforce ORDER BY month, staff_group, is_total, organisation_name`,
    countColumns: ['Headcount'],
  },
];
