// The whole data path on a small generated population: generate → run → build → serve, with every
// count reconciled against the generator's truth/, and a second run that lands nothing.

import { randomBytes } from 'node:crypto';
import { readFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../cli/context.ts';
import { loadCommand } from '../../cli/commands/load.ts';
import { withDuckDb } from '../../core/duckdb.ts';
import { quoteLiteral } from '../../core/sql.ts';
import type { RunSummary } from '../../pipelines/runs/runSource.ts';
import type { GenerateCounts } from '../../synthetic/generate.ts';
import { DEMO_MAP_NAME } from '../../core/config.ts';
import { demoMapLookup } from '../../synthetic/demoCodeMap.ts';
import { normaliseIcd10 } from '../../transforms/terminology/icd10.ts';
import { CODE_SYSTEMS } from '../../transforms/terminology/mapEntry.ts';
import { derivePseudonymKey, Pseudonymiser } from '../../transforms/pseudonymisation/pseudonymiser.ts';
import { loadReportCatalog } from '../../warehouse/reports/markdown/reportCatalog.ts';
import { startGovernedServer } from '../support/governedServer.ts';
import { buildDemoLake, SILENT } from '../support/demoLake.ts';

/** The JSON of a report (GET /api/reports/<report>), as far as these tests read it. */
interface ReportJson {
  filters: { name: string; options?: { value: string }[] }[];
  queries: Record<string, { columns: string[]; rows: (string | number | null)[][]; suppressed: [number, number][] }>;
}

const PATIENTS = 400;
const SEED = 11;


describe('carelake end to end', () => {
  let dir: string;
  let ctx: CommandContext;
  let truth: GenerateCounts;
  let firstRun: RunSummary[];
  // Random, so finding its bytes anywhere can only mean it was written there.
  const keyHex = randomBytes(32).toString('hex');
  const env = { ...process.env };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'carelake-e2e-'));
    process.env.CARELAKE_E2E_KEY = keyHex;
    ({ ctx, firstRun } = await buildDemoLake(dir, { patients: PATIENTS, seed: SEED, keyEnv: 'CARELAKE_E2E_KEY' }));
    truth = JSON.parse(readFileSync(join(dir, 'demo', 'truth', 'counts.json'), 'utf8')) as GenerateCounts;
  });
  afterAll(() => {
    process.env = env;
  });

  const warehouse = <T>(sql: string) => withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) => db.scalar(sql)) as Promise<T>;

  it('accounts for every record of every source: in = landed + quarantined, and in = generated', () => {
    const bySource = new Map(firstRun.map((s) => [s.run.source, s.run]));
    const fhirRecords = Object.values(truth.fhir).reduce((a, b) => a + b, 0);
    const expected: Record<string, number> = { gp: fhirRecords, pas: truth.hl7.messages, esr: truth.esr.data_lines };
    for (const [source, records] of Object.entries(expected)) {
      const run = bySource.get(source)!;
      expect(run.status, source).toBe('succeeded');
      expect(run.records_in, source).toBe(records);
      expect(run.records_landed + run.records_quarantined, source).toBe(run.records_in);
    }
  });

  it('builds curated rows that reconcile with truth/', async () => {
    const counts = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) =>
      db.all(`SELECT
        (SELECT count(*) FROM main_staging.stg_fhir_patient)::INTEGER AS fhir_patients,
        (SELECT count(*) FROM main_staging.stg_fhir_encounter)::INTEGER AS fhir_encounters,
        (SELECT count(*) FROM main_staging.stg_fhir_condition)::INTEGER AS fhir_conditions,
        (SELECT count(*) FROM main_staging.stg_hl7_message)::INTEGER AS hl7_messages,
        (SELECT count(*) FROM main_staging.stg_hl7_patient)::INTEGER AS hl7_patients,
        (SELECT count(*) FROM main_staging.stg_hl7_encounter)::INTEGER AS hl7_encounters,
        (SELECT count(*) FROM main_staging.stg_hl7_encounter WHERE status = 'cancelled')::INTEGER AS hl7_cancelled,
        (SELECT count(*) FROM main_staging.stg_hl7_patient_merge)::INTEGER AS hl7_merges,
        (SELECT count(*) FROM main_staging.stg_hl7_condition)::INTEGER AS hl7_conditions,
        (SELECT count(*) FROM main_staging.stg_hl7_observation)::INTEGER AS hl7_observations,
        (SELECT count(*) FROM main_staging.stg_esr_person)::INTEGER AS esr_people,
        (SELECT count(*) FROM main_curated.patient_record)::INTEGER AS patient_records,
        (SELECT count(*) FROM main_curated.encounter WHERE source_kind = 'hl7')::INTEGER AS hl7_mart_encounters,
        (SELECT count(*) FROM main_curated.condition WHERE source_kind = 'hl7')::INTEGER AS hl7_mart_conditions`),
    );
    expect(counts[0]).toEqual({
      fhir_patients: truth.fhir.Patient,
      fhir_encounters: truth.fhir.Encounter,
      fhir_conditions: truth.fhir.Condition,
      hl7_messages: truth.hl7.messages,
      hl7_patients: truth.hl7.patients_distinct_mrn,
      // Cancelled admissions stay in staging with status cancelled; the mart leaves them out.
      hl7_encounters: truth.hl7.episodes,
      hl7_cancelled: truth.hl7.cancelled_admissions,
      hl7_merges: truth.hl7.merges,
      hl7_conditions: truth.hl7.dg1_segments,
      hl7_observations: truth.hl7.obx_segments,
      esr_people: truth.staff - truth.esr.changes.delete_person,
      patient_records: truth.fhir.Patient + truth.hl7.patients_distinct_mrn,
      hl7_mart_encounters: truth.hl7.episodes - truth.hl7.cancelled_admissions,
      hl7_mart_conditions: truth.hl7.dg1_segments,
    });
    // Every message type the generator wrote, counted as it wrote them.
    const byType = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) =>
      db.all(`SELECT event, count(*)::INTEGER AS n FROM main_staging.stg_hl7_message GROUP BY event`),
    );
    expect(Object.fromEntries(byType.map((r) => [r.event, r.n]))).toEqual(Object.fromEntries(Object.entries(truth.hl7.by_type).filter(([, n]) => n > 0)));
    // Every result, diagnosis and visit is tied to its patient (and results to their report and visit);
    // every merge names a retired identity that was seen, and its survivor.
    const links = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) =>
      db.all(`SELECT
        (SELECT count(*) FROM main_staging.stg_hl7_observation o JOIN main_staging.stg_hl7_patient USING (patient_id)
           JOIN main_staging.stg_hl7_diagnostic_report r USING (diagnostic_report_id) JOIN main_staging.stg_hl7_encounter e ON e.encounter_id = o.encounter_id)::INTEGER AS observations,
        (SELECT count(*) FROM main_staging.stg_hl7_condition c JOIN main_staging.stg_hl7_patient USING (patient_id)
           JOIN main_staging.stg_hl7_encounter e ON e.encounter_id = c.encounter_id)::INTEGER AS conditions,
        (SELECT count(*) FROM main_staging.stg_hl7_encounter JOIN main_staging.stg_hl7_patient USING (patient_id))::INTEGER AS encounters,
        (SELECT count(*) FROM main_staging.stg_hl7_patient WHERE replaced_by_patient_id IS NOT NULL)::INTEGER AS replaced`),
    );
    expect(links[0]).toEqual({
      observations: truth.hl7.obx_segments,
      conditions: truth.hl7.dg1_segments,
      encounters: truth.hl7.episodes,
      replaced: truth.hl7.merges,
    });
    // The FHIR and HL7 staging models of each kind union by name into the same columns and types.
    const columns = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) =>
      db.all(`SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) AS columns
              FROM information_schema.columns WHERE table_schema = 'main_staging' GROUP BY table_name`),
    );
    const shape = new Map(columns.map((r) => [r.table_name, r.columns]));
    for (const kind of ['patient', 'encounter', 'condition', 'observation']) {
      expect(shape.get(`stg_hl7_${kind}`), kind).toBe(shape.get(`stg_fhir_${kind}`));
    }
    // The ledger is copied into the warehouse for reporting.
    expect(await warehouse<number>(`SELECT count(*)::INTEGER FROM ops.runs`)).toBe(3);
  });

  it('maps every coded fact the demo map knows to SNOMED CT, and counts every other one in dq_unmapped_codes', async () => {
    const facts = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) =>
      db.all(`SELECT source_system, source_code, map_rule, snomed_code, map_name, count(*)::INTEGER AS n
              FROM (SELECT source_system, source_code, map_rule, snomed_code, map_name FROM main_curated.condition
                    UNION ALL SELECT source_system, source_code, map_rule, snomed_code, map_name FROM main_curated.observation
                    UNION ALL SELECT source_system, source_code, map_rule, snomed_code, map_name FROM main_curated.procedure)
              GROUP BY ALL`),
    );
    let unmapped = 0;
    const unmappedCodes = new Set<string>();
    for (const f of facts) {
      const system = String(f.source_system);
      const code = String(f.source_code);
      if (system === CODE_SYSTEMS.snomed) {
        expect(f, code).toMatchObject({ map_rule: 'exact', snomed_code: code, map_name: null });
        continue;
      }
      const entry = demoMapLookup(system, system === CODE_SYSTEMS.icd10 ? (normaliseIcd10(code)?.dotted ?? code) : code);
      if (entry === undefined) {
        expect(f, `${system} ${code}`).toMatchObject({ map_rule: 'unmapped', snomed_code: null });
        unmapped += Number(f.n);
        unmappedCodes.add(normaliseIcd10(code)?.dotted ?? code);
      } else {
        expect(f, `${system} ${code}`).toMatchObject({ map_rule: system === CODE_SYSTEMS.icd10 ? 'exact' : 'local', snomed_code: entry.target_code, map_name: DEMO_MAP_NAME });
      }
    }
    // Only the codes the generator sends on purpose are missing from the map (in whatever form sent).
    expect([...unmappedCodes].sort()).toEqual(['R68.8', 'R69', 'T88.7', 'Z53.9'].filter((c) => unmappedCodes.has(c)));
    expect(unmappedCodes.size).toBeGreaterThan(0);
    expect(Number(await warehouse(`SELECT sum(occurrences) FROM main_curated.dq_unmapped_codes`))).toBe(unmapped);
    expect(Number(await warehouse(`SELECT count(*) FROM main_curated.dq_ambiguous_codes`))).toBe(0);
  });

  it('builds workforce marts that reconcile with truth/workforce_*.csv: the ESR current state and its monthly snapshot', async () => {
    const csv = (name: string) =>
      readFileSync(join(dir, 'demo', 'truth', name), 'utf8').split('\n').filter(Boolean).slice(1).map((line) => line.split(','));
    // The generator writes no quoted fields here (no commas in staff groups, roles or ids).
    const assignments = csv('workforce_assignments.csv');
    expect(assignments.length).toBe(truth.workforce.current_assignments);
    // Curated keys are the pseudonyms of the truth ids under the build's key, so rows match one to one.
    const pseudonymiser = new Pseudonymiser(derivePseudonymKey(Buffer.from(keyHex, 'hex'), ctx.config.project));
    const expected = assignments
      .map(([, esrPersonId, , number, staffGroup, jobRole, occupation, orgId, costCentre, fte, start]) =>
        [pseudonymiser.token('esr_assignment', number!), pseudonymiser.token('esr_person', esrPersonId!), staffGroup, jobRole, occupation, orgId, costCentre, fte, start].join('|'),
      )
      .sort();
    const mart = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) =>
      db.all(`SELECT concat_ws('|', assignment_key, person_key, staff_group, job_role, occupation_code, organisation_id, cost_centre, printf('%.2f', fte), strftime(assignment_start, '%Y-%m-%d')) AS row
              FROM main_curated.workforce_assignment ORDER BY row`),
    );
    expect(mart.map((r) => r.row)).toEqual(expected);
    expect(await warehouse<number>(`SELECT count(DISTINCT person_key)::INTEGER FROM main_curated.workforce_assignment`)).toBe(truth.workforce.current_people);
    expect(truth.workforce.current_people).toBe(truth.staff - truth.esr.changes.delete_person);

    // Headcount and FTE per staff group and organisation, from the truth rows.
    const groups = new Map<string, { people: Set<string>; fte: number }>();
    for (const [, esrPersonId, , , staffGroup, , , orgId, , fte] of assignments) {
      const group = groups.get(`${staffGroup}|${orgId}`) ?? { people: new Set<string>(), fte: 0 };
      group.people.add(esrPersonId!);
      group.fte += Math.round(Number(fte) * 100);
      groups.set(`${staffGroup}|${orgId}`, group);
    }
    const byGroup = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) =>
      db.all(`SELECT staff_group || '|' || organisation_id AS grp, count(DISTINCT person_key)::INTEGER AS headcount, printf('%.2f', sum(fte)) AS fte
              FROM main_curated.workforce_assignment GROUP BY ALL ORDER BY grp`),
    );
    expect(byGroup).toEqual(
      [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([grp, g]) => ({ grp, headcount: g.people.size, fte: (g.fte / 100).toFixed(2) })),
    );

    // The monthly snapshot, row for row.
    const monthly = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) =>
      db.all(`SELECT concat_ws(',', strftime(month, '%Y-%m-%d'), staff_group, organisation_id, headcount, printf('%.2f', fte)) AS row FROM main_curated.workforce_monthly ORDER BY row`),
    );
    const truthMonthly = csv('workforce_monthly.csv').map((r) => r.join(','));
    expect(truthMonthly.length).toBe(truth.workforce.monthly_rows);
    expect(monthly.map((r) => r.row)).toEqual(truthMonthly.sort());

    // Serving passes the curated tokens and rows through.
    const pointer = JSON.parse(readFileSync(ctx.layout.servingPointer, 'utf8')) as { releases: Record<string, { file: string }> };
    const served = async (role: string, sql: string) => withDuckDb(join(ctx.layout.serving, pointer.releases[role]!.file), { readOnly: true }, (db) => db.scalar(sql));
    expect(await served('analyst', `SELECT count(*)::INTEGER FROM workforce_assignment`)).toBe(truth.workforce.current_assignments);
    expect(await served('analyst', `SELECT count(DISTINCT person_key)::INTEGER FROM workforce_assignment`)).toBe(truth.workforce.current_people);
    expect(await served('commissioner', `SELECT count(*)::INTEGER FROM agg_workforce WHERE NOT is_total`)).toBe(truth.workforce.monthly_rows);

    // Commissioners see it through a report, with headcount disclosure-controlled and FTE with it.
    const server = await startGovernedServer({ layout: ctx.layout, reports: await loadReportCatalog() });
    try {
      const page = async (search: string) => (await (await server.as('commissioner', `/api/reports/workforce${search}`)).json()) as ReportJson;
      const groups = (await page('')).filters[0]!.options!.map((o) => o.value);
      expect(groups.length).toBeGreaterThan(1);
      const rows: (string | number | null)[][] = [];
      let suppressed = 0;
      for (const group of groups) {
        const monthly = (await page(`?staff_group=${encodeURIComponent(group)}`)).queries.monthly!;
        expect(monthly.columns).toEqual(['month', 'organisation', 'headcount', 'fte']);
        rows.push(...monthly.rows);
        suppressed += monthly.suppressed.length;
      }
      expect(rows.filter((r) => r[1] !== 'All organisations').length).toBe(truth.workforce.monthly_rows);
      expect(suppressed).toBeGreaterThan(0);
      for (const row of rows) {
        const v = row[2]!;
        expect(v === null || (typeof v === 'number' && v % 5 === 0 && (v === 0 || v > 7))).toBe(true);
        // FTE describes the people counted: it goes wherever their headcount is suppressed.
        if (v === null) expect(row[3]).toBeNull();
      }
    } finally {
      await server.close();
    }
  });

  it('serves the same rows, pseudonymised: no NHS number from truth/ and no key byte in any serving file', async () => {
    const pointer = JSON.parse(readFileSync(ctx.layout.servingPointer, 'utf8')) as { releases: Record<string, { file: string }> };
    const analystFile = join(ctx.layout.serving, pointer.releases.analyst!.file);
    const served = await withDuckDb(analystFile, { readOnly: true }, (db) =>
      db.all(`SELECT (SELECT count(*) FROM patient_record)::INTEGER AS records, (SELECT count(DISTINCT person_token) FROM patient_record)::INTEGER AS people, (SELECT count(*) FROM encounter)::INTEGER AS encounters`),
    );
    const curated = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) =>
      db.all(`SELECT (SELECT count(*) FROM main_curated.patient_record)::INTEGER AS records, (SELECT count(DISTINCT person_id) FROM main_curated.patient_record)::INTEGER AS people, (SELECT count(*) FROM main_curated.encounter)::INTEGER AS encounters`),
    );
    expect(served).toEqual(curated);
    // Linkage found every person of the generated population, no more and no fewer.
    const truePeople = readFileSync(join(dir, 'demo', 'truth', 'people.csv'), 'utf8').trim().split('\n').length - 1;
    expect(served[0]!.people).toBe(truePeople);

    const nhsNumbers = readFileSync(join(dir, 'demo', 'truth', 'people.csv'), 'utf8').split('\n').slice(1, 200).map((l) => l.split(',')[1]!).filter(Boolean);
    expect(nhsNumbers.length).toBeGreaterThan(100);
    // Values are compared through SQL, not in the file's bytes, because DuckDB compresses strings.
    const leaks = (file: string, schema: string) =>
      withDuckDb(file, { readOnly: true }, async (db) => {
        const columns = await db.all(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ? AND data_type = 'VARCHAR'`, [schema]);
        let found = 0;
        for (const c of columns) {
          found += Number(await db.scalar(`SELECT count(*) FROM "${schema}"."${String(c.table_name)}" WHERE "${String(c.column_name)}" IN (${nhsNumbers.map(quoteLiteral).join(', ')})`));
        }
        return found;
      });
    // The scan finds identifiers where they are (the engineer's curated tables)…
    expect(await leaks(ctx.layout.warehouse, 'main_curated')).toBeGreaterThan(0);
    // …and finds none in any serving file; nor is the key there, in hex or raw bytes.
    const files = readdirSync(ctx.layout.serving).filter((f) => f.endsWith('.duckdb'));
    expect(files.length).toBe(2);
    for (const name of files) {
      expect(await leaks(join(ctx.layout.serving, name), 'main'), name).toBe(0);
      const bytes = readFileSync(join(ctx.layout.serving, name));
      expect(bytes.includes(Buffer.from(keyHex)), name).toBe(false);
      expect(bytes.includes(Buffer.from(keyHex, 'hex')), name).toBe(false);
    }
  });

  it('answers the report API and page from the commissioner file, with small numbers suppressed', async () => {
    const server = await startGovernedServer({ layout: ctx.layout, reports: await loadReportCatalog() });
    try {
      const report = (await (await server.as('commissioner', '/api/reports/condition-prevalence')).json()) as ReportJson;
      const byPractice = report.queries.by_practice!;
      const patients = byPractice.columns.indexOf('patients');
      expect(byPractice.rows.length).toBeGreaterThan(0);
      for (const row of byPractice.rows) {
        const v = row[patients]!;
        expect(v === null || (typeof v === 'number' && v % 5 === 0 && (v === 0 || v > 7))).toBe(true);
      }
      const page = await server.as('commissioner', '/reports/condition-prevalence');
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<h1>Long-term condition prevalence</h1>');
    } finally {
      await server.close();
    }
  });

  it('serves no identifier from truth/ in any column of any serving table, and the key in no lake file or log', async () => {
    const rows = (file: string) => {
      const [header, ...lines] = readFileSync(join(dir, 'demo', 'truth', file), 'utf8').trim().split('\n');
      const names = header!.split(',');
      return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i]!, v])) as Record<string, string>);
    };
    const people = rows('people.csv');
    const staff = rows('staff.csv');
    const records = rows('source_records.csv');
    const compact = (v: string) => v.replace(/\s+/g, '').toUpperCase();
    const identifiers = new Map<string, string>();
    const add = (kind: string, values: (string | undefined)[]) => {
      for (const v of values) if (v && v.trim() !== '') identifiers.set(compact(v), kind);
    };
    add('NHS number', people.map((p) => p.nhs_number));
    add('MRN or FHIR patient id', records.map((r) => r.record_id));
    add('name', [...people, ...staff].map((p) => `${p.given_name} ${p.family_name}`));
    add('family name', [...people, ...staff].map((p) => p.family_name));
    add('postcode', people.map((p) => p.postcode));
    add('ESR person id', staff.map((s) => s.esr_person_id));
    add('employee number', staff.map((s) => s.employee_number));
    add('NI number', staff.map((s) => s.ni_number));
    const birthDates = new Set([...people, ...staff].map((p) => p.birth_date));
    expect(identifiers.size).toBeGreaterThan(PATIENTS * 3);

    const pointer = JSON.parse(readFileSync(ctx.layout.servingPointer, 'utf8')) as { releases: Record<string, { file: string }> };
    let scanned = 0;
    for (const role of ['analyst', 'commissioner']) {
      await withDuckDb(join(ctx.layout.serving, pointer.releases[role]!.file), { readOnly: true }, async (db) => {
        const columns = await db.all(`SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main'`);
        for (const c of columns) {
          const where = `${role}.${String(c.table_name)}.${String(c.column_name)}`;
          const values = await db.all(`SELECT DISTINCT CAST("${String(c.column_name)}" AS VARCHAR) AS v FROM "${String(c.table_name)}" WHERE "${String(c.column_name)}" IS NOT NULL`);
          scanned += 1;
          for (const { v } of values) {
            const found = identifiers.get(compact(String(v)));
            expect(found === undefined ? null : `${where} holds a ${found}`).toBeNull();
          }
          // A date column whose values are mostly someone's date of birth is a date-of-birth column.
          if (String(c.data_type).startsWith('DATE') || String(c.data_type).startsWith('TIMESTAMP')) {
            const dates = values.map(({ v }) => String(v).slice(0, 10));
            const births = dates.filter((d) => birthDates.has(d)).length;
            expect(births / Math.max(1, dates.length), `${where}: share of values that are dates of birth`).toBeLessThan(0.25);
          }
        }
      });
    }
    expect(scanned).toBeGreaterThan(60);

    // The master key, and the project key derived from it, are in no file of the lake: not the
    // warehouse, raw Parquet, serving files, ledger, audit log or logs.
    const projectKey = derivePseudonymKey(Buffer.from(keyHex, 'hex'), ctx.config.project);
    const secrets = [Buffer.from(keyHex), Buffer.from(keyHex, 'hex'), Buffer.from(Buffer.from(keyHex, 'hex').toString('base64')), projectKey, Buffer.from(projectKey.toString('hex'))];
    const files = readdirSync(ctx.layout.root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    expect(files.some((f) => f.includes('/logs/'))).toBe(true);
    expect(files.some((f) => f.endsWith('.parquet'))).toBe(true);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const secret of secrets) expect(bytes.includes(secret), file).toBe(false);
    }
  });

  it('lands nothing new on a second run', async () => {
    const again = await loadCommand(ctx, [], SILENT);
    for (const s of again) {
      expect(s.run.records_in, s.run.source).toBe(0);
      expect(s.run.files_landed, s.run.source).toBe(0);
      expect(s.run.files_skipped, s.run.source).toBe(firstRun.find((f) => f.run.source === s.run.source)!.run.files_landed);
    }
  });
});
