// The commissioner aggregates that report on the data itself, built by the real warehouse build over a
// small generated lake and published with disclosure control:
// - agg_data_quality, a scorecard per landing source, is checked against the runs as they were landed
//   (and as ops.runs keeps them), the generator's truth about NHS numbers (and the TypeScript twin of
//   the Modulus 11 macro), and dq_unmapped_codes;
// - agg_condition_prevalence_lineage, the sources and runs behind each cell of
//   agg_condition_prevalence, is checked cell by cell against the curated facts, the raw parts'
//   load_date and the run ledger, and its published rows against the published prevalence cells.
// One FHIR line is broken on purpose, so a source has a quarantined record (a count of 1, which
// publishing must suppress along with the rate made from it), and one diagnosis is added with a code
// no map knows.

import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type CarelakeConfig } from '../../../core/config.ts';
import { withDuckDb, type DuckDb, type Row } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { quoteLiteral } from '../../../core/sql.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { checkFreshness } from '../../../pipelines/ops/sourceFreshness.ts';
import { listSourceFiles, runSource, type RunSummary } from '../../../pipelines/runs/runSource.ts';
import { generateDemoSources, type GenerateCounts } from '../../../synthetic/generate.ts';
import { isValidNhsNumber } from '../../../transforms/identifiers/nhsNumber.ts';
import { buildWarehouse, type WarehouseBuildResult } from '../../../warehouse/build/warehouseBuild.ts';
import { copyBundledProject } from '../../support/bundledProject.ts';

const PATIENTS = 80;
// A seed whose hospital feed has a mistyped NHS number, so the invalid count is not zero.
const SEED = 23;
const KEY_ENV = 'CARELAKE_AGGREGATES_TEST_KEY';
const logger = createLogger(null);

/** HES: 1–7 suppressed, the rest rounded to 5. */
const publishedUnderHes = (value: unknown, suppressed: unknown): boolean =>
  suppressed === true ? value === null : typeof value === 'number' && value % 5 === 0 && (value === 0 || value > 7);

describe('agg_data_quality and agg_condition_prevalence_lineage on a generated lake', () => {
  let root: string;
  let config: CarelakeConfig;
  let layout: LakeLayout;
  let truth: GenerateCounts;
  let landed: Map<string, RunSummary>;
  let build: WarehouseBuildResult;
  let commissionerFile: string;

  const warehouse = <T>(work: (db: DuckDb) => Promise<T>) => withDuckDb(layout.warehouse, { readOnly: true }, work);
  const curated = (sql: string) => warehouse((db) => db.all(sql));
  const served = (sql: string) => withDuckDb(commissionerFile, { readOnly: true }, (db) => db.all(sql));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'carelake-aggregates-'));
    await generateDemoSources({ patients: PATIENTS, seed: SEED, outDir: join(root, 'demo') });
    truth = JSON.parse(await readFile(join(root, 'demo', 'truth', 'counts.json'), 'utf8')) as GenerateCounts;
    // A diagnosis coded with an ICD-10 code the demo map leaves out, and a line that is not JSON.
    const patientId = (JSON.parse((await readFile(join(root, 'demo', 'fhir', 'Patient.ndjson'), 'utf8')).split('\n')[0]!) as { id: string }).id;
    const unmapped = {
      resourceType: 'Condition',
      id: 'carelake-test-unmapped',
      meta: { lastUpdated: '2025-12-01T00:00:00Z' },
      subject: { reference: `Patient/${patientId}` },
      code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'R69', display: 'Illness, unspecified' }] },
    };
    await appendFile(join(root, 'demo', 'fhir', 'Condition.ndjson'), `${JSON.stringify(unmapped)}\n{"resourceType": "Condition", "id": \n`);
    // The project is copied so the build writes target/ there, not into the repository.
    const projectDir = join(root, 'project');
    await copyBundledProject(projectDir);
    config = parseConfig(
      `lake: ./lake
sources:
  - { name: gp, kind: fhir-bulk-files, path: ./demo/fhir, freshness: { warn_after: { count: 36, period: hour } } }
  - { name: pas, kind: hl7v2, path: "./demo/hl7/*.hl7", freshness: { error_after: { count: 1, period: day } } }
  - { name: esr, kind: esr, path: ./demo/esr }
models: { projectDir: ./project, vars: { linkage_accept_test_nhs_numbers: true } }
terminology: { demoMap: true }
governance: { keyEnv: ${KEY_ENV}, suppression: hes }
`,
      { file: join(root, 'carelake.yml'), baseDir: root },
    );
    layout = new LakeLayout(config.lake);
    const ledger = Ledger.open(layout.ledger);
    try {
      landed = new Map();
      for (const source of config.sources) {
        const summary = await runSource(source, await listSourceFiles(source, { layout, logger, ledger: () => ledger }), { layout, ledger, logger, trigger: 'manual' });
        landed.set(source.name, summary);
      }
      checkFreshness(config.sources, ledger, new Date());
      build = await buildWarehouse({ config, layout, ledger, logger, env: { [KEY_ENV]: randomBytes(32).toString('hex') }, now: new Date() });
    } finally {
      ledger.close();
    }
    commissionerFile = build.releases.find((r) => r.role === 'commissioner')?.file ?? '';
  }, 240_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('builds both models and passes their data tests, then publishes them to commissioners', () => {
    expect(build.failed).toEqual([]);
    const status = (id: string) => build.results.results.find((r) => r.unique_id === id)?.status;
    expect(status('model.carelake.agg_data_quality')).toBe('success');
    expect(status('model.carelake.agg_condition_prevalence_lineage')).toBe('success');
    const tests = build.results.results.filter((r) => r.unique_id.startsWith('test.') && /agg_data_quality|agg_condition_prevalence_lineage|prevalence_lineage/.test(r.unique_id));
    expect(tests.length).toBeGreaterThan(8);
    expect(tests.filter((t) => t.status !== 'pass')).toEqual([]);
    const commissioner = build.releases.find((r) => r.role === 'commissioner');
    expect(commissioner?.tables.map((t) => t.name)).toEqual(expect.arrayContaining(['agg_data_quality', 'agg_condition_prevalence_lineage', 'agg_condition_prevalence']));
  });

  describe('agg_data_quality', () => {
    let rows: Map<string, Row>;
    beforeAll(async () => {
      rows = new Map(
        (
          await curated(`SELECT source, source_kind, runs_last_30_days::INTEGER AS runs_last_30_days, failed_runs_last_30_days::INTEGER AS failed_runs_last_30_days,
            strftime(last_success_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%g') AS last_success_at, freshness_status,
            records_in::INTEGER AS records_in, records_landed::INTEGER AS records_landed, records_quarantined::INTEGER AS records_quarantined, records_filtered::INTEGER AS records_filtered,
            patient_records::INTEGER AS patient_records, nhs_number_present_count::INTEGER AS present, nhs_number_valid_count::INTEGER AS valid, nhs_number_invalid_count::INTEGER AS invalid,
            clinical_facts::INTEGER AS clinical_facts, unmapped_facts::INTEGER AS unmapped_facts, ambiguous_facts::INTEGER AS ambiguous_facts
          FROM main_curated.agg_data_quality`)
        ).map((r) => [String(r.source), r]),
      );
    });

    it('has one row per landing source, with its runs, last success and freshness from the ledger', () => {
      expect([...rows.keys()].sort()).toEqual(['esr', 'gp', 'pas']);
      for (const source of config.sources) {
        const run = landed.get(source.name)!.run;
        expect(rows.get(source.name), source.name).toMatchObject({
          source_kind: source.kind,
          runs_last_30_days: 1,
          failed_runs_last_30_days: 0,
          last_success_at: run.finished_at!.replace(/Z$/, ''),
          // gp and pas have a freshness rule and have just landed; esr has none, so no verdict.
          freshness_status: source.name === 'esr' ? null : 'pass',
        });
      }
    });

    it('counts records in, landed, quarantined and filtered as the runs did, and as ops.runs keeps them', async () => {
      const ledgerSums = new Map(
        (
          await curated(`SELECT source, sum(records_in)::INTEGER AS records_in, sum(records_landed)::INTEGER AS records_landed,
            sum(records_quarantined)::INTEGER AS records_quarantined, sum(records_filtered)::INTEGER AS records_filtered
          FROM ops.runs WHERE kind <> 'build' GROUP BY source`)
        ).map(({ source, ...sums }) => [String(source), sums]),
      );
      for (const [source, { run }] of landed) {
        const expected = { records_in: run.records_in, records_landed: run.records_landed, records_quarantined: run.records_quarantined, records_filtered: run.records_filtered };
        expect(rows.get(source), source).toMatchObject(expected);
        expect(ledgerSums.get(source), source).toEqual(expected);
      }
      // The broken line, and only it.
      expect(rows.get('gp')).toMatchObject({ records_quarantined: 1, records_in: Object.values(truth.fhir).reduce((a, b) => a + b, 0) + 2 });
      expect(rows.get('pas')).toMatchObject({ records_quarantined: 0, records_in: truth.hl7.messages });
    });

    it('counts NHS numbers on patient records as the generator damaged them, and as the TypeScript Modulus 11 check does', async () => {
      expect(truth.people_without_nhs_number).toBe(0);
      const expected = (records: number, defects: GenerateCounts['defects']['fhir']) => {
        const present = records - defects.missing_nhs_number;
        // A temporary number is not ten digits, so it fails the check too.
        const invalid = defects.invalid_nhs_check_digit + defects.temporary_nhs_number;
        return { patient_records: records, present, valid: present - invalid, invalid };
      };
      expect(rows.get('gp')).toMatchObject(expected(truth.fhir.Patient, truth.defects.fhir));
      expect(rows.get('pas')).toMatchObject(expected(truth.hl7.patients_distinct_mrn, truth.defects.hl7));
      expect(rows.get('pas')!.invalid).toBeGreaterThan(0);
      expect(rows.get('esr')).toMatchObject({ patient_records: 0, present: 0, valid: 0, invalid: 0 });

      // The same figures from the curated NHS numbers, checked here in TypeScript.
      const numbers = await curated(`SELECT source, nhs_number FROM main_curated.patient_record`);
      for (const source of ['gp', 'pas']) {
        const mine = numbers.filter((r) => r.source === source).map((r) => (r.nhs_number === null ? null : String(r.nhs_number)));
        const present = mine.filter((n) => n !== null && n.trim() !== '');
        const valid = present.filter((n) => isValidNhsNumber(n));
        expect(rows.get(source), source).toMatchObject({ patient_records: mine.length, present: present.length, valid: valid.length, invalid: present.length - valid.length });
      }
    });

    it('counts the coded facts of each source, and as unmapped the occurrences dq_unmapped_codes lists', async () => {
      const facts = new Map(
        (
          await curated(`SELECT source, count(*)::INTEGER AS n FROM (
            SELECT source FROM main_curated.condition UNION ALL SELECT source FROM main_curated.observation UNION ALL SELECT source FROM main_curated.procedure) GROUP BY source`)
        ).map((r) => [String(r.source), r.n]),
      );
      const unmapped = new Map((await curated(`SELECT source, sum(occurrences)::INTEGER AS n FROM main_curated.dq_unmapped_codes GROUP BY source`)).map((r) => [String(r.source), r.n]));
      for (const source of ['gp', 'pas']) {
        expect(rows.get(source), source).toMatchObject({ clinical_facts: facts.get(source), unmapped_facts: unmapped.get(source) ?? 0, ambiguous_facts: 0 });
      }
      // At least the diagnosis added with R69, which the demo map leaves out.
      expect(rows.get('gp')!.unmapped_facts as number).toBeGreaterThan(0);
      expect(rows.get('esr')).toMatchObject({ clinical_facts: 0, unmapped_facts: 0 });
    });

    it('is published with every count disclosure-controlled, the rates from the published counts, and the feed figures as they are', async () => {
      const published = await served(`SELECT * FROM agg_data_quality ORDER BY source`);
      expect(published.map((r) => r.source)).toEqual(['esr', 'gp', 'pas']);
      const counts = ['records_in', 'records_landed', 'records_quarantined', 'records_filtered', 'patient_records', 'nhs_number_present_count', 'nhs_number_valid_count', 'nhs_number_invalid_count', 'clinical_facts', 'unmapped_facts', 'ambiguous_facts'];
      const rates: [string, string, string][] = [
        ['quarantined_percent', 'records_quarantined', 'records_in'],
        ['nhs_number_valid_percent', 'nhs_number_valid_count', 'nhs_number_present_count'],
        ['unmapped_percent', 'unmapped_facts', 'clinical_facts'],
      ];
      for (const row of published) {
        const source = String(row.source);
        const truthRow = rows.get(source)!;
        for (const column of counts) {
          const value = row[column] === null ? null : Number(row[column]);
          expect(publishedUnderHes(value, row[`${column}_suppressed`]), `${source}.${column}`).toBe(true);
        }
        for (const [rate, numerator, denominator] of rates) {
          const n = row[numerator] === null ? null : Number(row[numerator]);
          const d = row[denominator] === null ? null : Number(row[denominator]);
          if (row[`${numerator}_suppressed`] === true || row[`${denominator}_suppressed`] === true) {
            expect(row[rate], `${source}.${rate}`).toBeNull();
            expect(row[`${rate}_suppressed`], `${source}.${rate}`).toBe(true);
          } else {
            expect(row[rate], `${source}.${rate}`).toBe(n !== null && d ? Math.round((n * 100 * 100) / d) / 100 : null);
          }
        }
        expect(Number(row.runs_last_30_days)).toBe(truthRow.runs_last_30_days);
        expect(row.freshness_status).toBe(truthRow.freshness_status);
      }
      // gp's one quarantined record is suppressed, and its quarantine rate with it.
      const gp = published.find((r) => r.source === 'gp')!;
      expect(gp).toMatchObject({ records_quarantined: null, records_quarantined_suppressed: true, quarantined_percent: null, quarantined_percent_suppressed: true });
      expect(Number(gp.records_in) % 5).toBe(0);
      // No total row: the table has no is_total column.
      expect(Object.keys(gp)).not.toContain('is_total');
    });
  });

  describe('agg_condition_prevalence_lineage', () => {
    it('explains every prevalence cell, and only those: records add up to the facts behind the cell, people bracket its count', async () => {
      const cells = await curated(`
        WITH facts AS (
          SELECT c.snomed_code, p.practice_ods, count(*)::INTEGER AS facts
          FROM main_curated.condition c JOIN main_curated.person p USING (person_id)
          WHERE c.snomed_code IS NOT NULL AND p.practice_ods IS NOT NULL GROUP BY ALL
        ),
        lineage AS (
          SELECT snomed_code, practice_ods, sum(records)::INTEGER AS records, max(patients)::INTEGER AS most, sum(patients)::INTEGER AS summed, count(*)::INTEGER AS runs
          FROM main_curated.agg_condition_prevalence_lineage GROUP BY ALL
        )
        SELECT a.snomed_code, a.practice_ods, a.patients::INTEGER AS patients, f.facts, l.records, l.most, l.summed, l.runs
        FROM main_curated.agg_condition_prevalence a
        FULL JOIN lineage l USING (snomed_code, practice_ods)
        LEFT JOIN facts f USING (snomed_code, practice_ods)`);
      expect(cells.length).toBeGreaterThan(5);
      for (const cell of cells) {
        const where = `${String(cell.snomed_code)} at ${String(cell.practice_ods)}`;
        expect(cell.patients, where).not.toBeNull();
        expect(cell.records, where).toBe(cell.facts);
        expect(cell.most as number, where).toBeLessThanOrEqual(cell.patients as number);
        expect(cell.summed as number, where).toBeGreaterThanOrEqual(cell.patients as number);
      }
      // Both feeds contribute (GP problem lists and hospital diagnoses).
      expect((await curated(`SELECT DISTINCT source FROM main_curated.agg_condition_prevalence_lineage ORDER BY source`)).map((r) => r.source)).toEqual(['gp', 'pas']);
    });

    it('names runs the ledger holds for that source, with the load_date their raw parts were written under, and no more records than they landed', async () => {
      const runs = await warehouse(async (db) => {
        const raw = (source: string, dataset: string) => `read_parquet(${quoteLiteral(join(layout.rawDir, source, dataset, '*', '*.parquet'))}, hive_partitioning = true)`;
        return db.all(`
          WITH partitions AS (
            SELECT DISTINCT _source, _run_id, load_date::VARCHAR AS load_date FROM ${raw('gp', 'Condition')}
            UNION ALL SELECT DISTINCT _source, _run_id, load_date::VARCHAR FROM ${raw('pas', 'segments')}
          )
          SELECT l.source, l.run_id, l.loaded_on::VARCHAR AS loaded_on, sum(l.records)::INTEGER AS records,
                 any_value(r.source) AS ledger_source, any_value(r.records_landed)::INTEGER AS records_landed, list(DISTINCT p.load_date) AS load_dates
          FROM main_curated.agg_condition_prevalence_lineage l
          LEFT JOIN ops.runs r ON r.run_id = l.run_id
          LEFT JOIN partitions p ON p._run_id = l.run_id AND p._source = l.source
          GROUP BY l.source, l.run_id, l.loaded_on`);
      });
      expect(runs.map((r) => r.source).sort()).toEqual(['gp', 'pas']);
      for (const run of runs) {
        expect(run.ledger_source, String(run.run_id)).toBe(run.source);
        expect(run.run_id).toBe(landed.get(String(run.source))!.run.run_id);
        expect(run.load_dates, String(run.run_id)).toEqual([run.loaded_on]);
        expect(run.records as number, String(run.run_id)).toBeLessThanOrEqual(run.records_landed as number);
      }
    });

    it('is published with totals over practices, every count disclosure-controlled, and every row joining its published prevalence cell', async () => {
      const published = await served(`SELECT * FROM agg_condition_prevalence_lineage`);
      expect(Object.keys(published[0]!)).toEqual([
        'snomed_code',
        'practice_ods',
        'source',
        'run_id',
        'loaded_on',
        'is_total',
        'records',
        'records_suppressed',
        'patients',
        'patients_suppressed',
      ]);
      for (const row of published) {
        for (const column of ['records', 'patients']) expect(publishedUnderHes(row[column] === null ? null : Number(row[column]), row[`${column}_suppressed`]), column).toBe(true);
        expect(row.practice_ods === null).toBe(row.is_total);
      }
      // Small cells are there, so suppression did something; so are the totals over practices.
      expect(published.some((r) => r.records_suppressed === true)).toBe(true);
      expect(published.some((r) => r.is_total === true)).toBe(true);
      // One lineage row per (cell, source, run) of the warehouse, plus one total per (condition, source, run).
      const expectedRows = await curated(`SELECT
          (SELECT count(*) FROM main_curated.agg_condition_prevalence_lineage)::INTEGER AS cells,
          (SELECT count(*) FROM (SELECT DISTINCT snomed_code, source, run_id FROM main_curated.agg_condition_prevalence_lineage))::INTEGER AS totals`);
      expect(published.filter((r) => r.is_total === false).length).toBe(expectedRows[0]!.cells);
      expect(published.filter((r) => r.is_total === true).length).toBe(expectedRows[0]!.totals);

      // From a published number to its lineage: every lineage row finds its prevalence row by the keys.
      const orphans = await served(`SELECT count(*)::INTEGER AS n FROM agg_condition_prevalence_lineage l
        WHERE NOT EXISTS (SELECT 1 FROM agg_condition_prevalence p
          WHERE p.snomed_code = l.snomed_code AND p.practice_ods IS NOT DISTINCT FROM l.practice_ods AND p.is_total = l.is_total)`);
      expect(orphans).toEqual([{ n: 0 }]);
    });
  });
});
