// The fhir-bulk connector against the spec-conformant test server over loopback: full and
// incremental exports, every server behaviour the client must survive, and the ledger's accounting.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sourceConfig, type SourceConfig } from '../../../core/config.ts';
import { withDuckDb } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { BULK_STATE, makeFhirBulkConnector } from '../../../pipelines/fhir-bulk/bulkConnector.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { LedgerSourceState } from '../../../pipelines/ledger/sourceState.ts';
import { runSource } from '../../../pipelines/runs/runSource.ts';
import { generateDemoSources } from '../../../synthetic/generate.ts';
import { FhirBulkTestServer, type BulkServerBehaviour, type BulkServerData } from '../../support/fhirBulkServer/FhirBulkTestServer.ts';
import { describeWithShared } from '../../sharedData.ts';

type BulkSource = Extract<SourceConfig, { kind: 'fhir-bulk' }>;
const WAITS = { minMs: 5, maxMs: 50 };
const logger = createLogger(null);
const BIN = join(import.meta.dirname, '../../../bin/carelake.mjs');

describe('fhir-bulk connector', () => {
  let data: BulkServerData;
  let lineCounts: Map<string, number>;
  let server: FhirBulkTestServer | null = null;
  let layout: LakeLayout;
  let ledger: Ledger;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carelake-bulk-data-'));
    await generateDemoSources({ patients: 40, seed: 5, outDir: dir });
    data = await FhirBulkTestServer.fromFolder(join(dir, 'fhir'));
    lineCounts = new Map([...data.resources].map(([type, lines]) => [type, lines.length]));
  });
  beforeEach(() => {
    layout = new LakeLayout(join(mkdtempSync(join(tmpdir(), 'carelake-bulk-')), 'lake'));
    ledger = Ledger.open(layout.ledger);
  });
  afterEach(async () => {
    ledger.close();
    await server?.close();
    server = null;
  });

  const start = async (behaviour: BulkServerBehaviour = {}) => (server = await FhirBulkTestServer.start(data, behaviour));
  // Built through the config schema, so every default a user would get applies here too.
  const source = (extra: Partial<BulkSource> = {}): BulkSource => sourceConfig.parse({ name: 'gp', kind: 'fhir-bulk', baseUrl: server!.baseUrl, concurrency: 3, ...extra }) as BulkSource;
  const run = (s: BulkSource) => {
    const connector = makeFhirBulkConnector({ waits: WAITS })(s, { layout, logger, state: new LedgerSourceState(s.name, () => ledger) });
    return runSource(s, { connector, files: null }, { layout, ledger, logger, trigger: 'manual' });
  };
  const landedCount = (dataset: string) =>
    withDuckDb(':memory:', {}, (db) => db.scalar(`SELECT count(*)::INTEGER FROM read_parquet('${layout.rawGlob('gp', dataset)}')`)) as Promise<number>;
  const kickoffs = () => server!.log.filter((r) => r.path.endsWith('$export'));

  it('lands a full export, commits transactionTime as the next _since, releases the job, and then exports incrementally', async () => {
    await start({ pollsBeforeComplete: 2 });
    const first = await run(source());
    expect(first.run.status).toBe('succeeded');
    for (const [type, lines] of lineCounts) expect(await landedCount(type), type).toBe(lines);
    expect(first.run.records_in).toBe([...lineCounts.values()].reduce((a, b) => a + b, 0));
    const since = ledger.watermark('gp', BULK_STATE.since);
    expect(since).toBeTruthy();
    expect(ledger.watermark('gp', BULK_STATE.job)).toBeUndefined();
    expect([...server!.jobs.values()].map((j) => j.status)).toEqual(['deleted']);

    const second = await run(source());
    expect(kickoffs()[1]!.query._since).toBe(since);
    expect(second.run.records_in).toBe(0);
  });

  const survivable: { description: string; behaviour: BulkServerBehaviour }[] = [
    { description: 'Retry-After as seconds', behaviour: { pollsBeforeComplete: 2, retryAfter: 'seconds' } },
    { description: 'Retry-After as an HTTP-date', behaviour: { pollsBeforeComplete: 2, retryAfter: 'http-date' } },
    { description: 'Retry-After as an absolute epoch', behaviour: { pollsBeforeComplete: 2, retryAfter: 'epoch' } },
    { description: 'no Retry-After at all (exponential backoff)', behaviour: { pollsBeforeComplete: 3, retryAfter: 'none' } },
    { description: '429 on kick-off', behaviour: { kickoff429: 2 } },
    { description: 'transient 500 OperationOutcomes while polling', behaviour: { transientStatusErrors: 3 } },
    { description: 'gzip downloads', behaviour: { gzip: true } },
    { description: 'several files per type', behaviour: { splitFilesAt: 7 } },
    { description: 'downloads redirected to a second origin', behaviour: { redirectDownloads: true } },
  ];
  it.each(survivable)('survives $description and lands everything', async ({ behaviour }) => {
    await start(behaviour);
    const summary = await run(source());
    expect(summary.run.status).toBe('succeeded');
    expect(summary.run.records_in).toBe([...lineCounts.values()].reduce((a, b) => a + b, 0));
    expect(await landedCount('Patient')).toBe(lineCounts.get('Patient'));
  });

  it('follows a paged manifest when allowed to ask for one', async () => {
    await start({ pageSize: 2 });
    const summary = await run(source({ allowPartialManifests: true }));
    expect(kickoffs()[0]!.query.allowPartialManifests).toBe('true');
    expect(summary.files.length).toBe(lineCounts.size);
    expect(summary.run.records_in).toBe([...lineCounts.values()].reduce((a, b) => a + b, 0));
  });

  it('exports chosen patients by POST at patient level', async () => {
    await start();
    const ids = data.resources.get('Patient')!.slice(0, 2).map((l) => (JSON.parse(l) as { id: string }).id);
    const summary = await run(source({ level: 'patient', method: 'POST', types: ['Patient'], patients: ids.map((id) => `Patient/${id}`) }));
    expect(summary.run.status).toBe('succeeded');
    expect(kickoffs()[0]!.method).toBe('POST');
    const landed = await withDuckDb(':memory:', {}, (db) => db.all(`SELECT id FROM read_parquet('${layout.rawGlob('gp', 'Patient')}') ORDER BY id`));
    expect(landed.map((r) => r.id)).toEqual([...ids].sort());
  });

  it('re-applies _typeFilter locally when the server ignores it: the rest is counted as filtered, not landed', async () => {
    await start();
    const filter = 'Observation?code=http://snomed.info/sct|1022431000000105';
    const summary = await run(source({ types: ['Observation', 'Patient'], typeFilter: [filter] }));
    // The test server ignores _typeFilter under handling=lenient and says so in error[].
    expect(kickoffs()[0]!.query._typeFilter).toBe(filter);
    const expected = data.resources.get('Observation')!.filter((l) => (JSON.parse(l) as { code: { coding: { code: string }[] } }).code.coding.some((c) => c.code === '1022431000000105')).length;
    expect(expected).toBeGreaterThan(0);
    expect(await landedCount('Observation')).toBe(expected);
    expect(await landedCount('Patient')).toBe(lineCounts.get('Patient')); // no filter for Patient
    const r = summary.run;
    expect(r.records_filtered).toBe(lineCounts.get('Observation')! - expected);
    expect(r.records_in).toBe(r.records_landed + r.records_quarantined + r.records_filtered);
    expect(r.status).toBe('succeeded');
    expect(summary.files.flatMap((f) => f.reconciliation)).toEqual([]); // manifest counts include the filtered lines
  });

  it('refuses a _typeFilter it cannot re-apply before contacting the server', async () => {
    await start();
    await expect(run(source({ typeFilter: ['Observation?value-quantity=gt5'] }))).rejects.toThrow(/cannot re-apply search parameter 'value-quantity' on Observation/);
    expect(server!.log).toEqual([]);
  });

  it('lands _elements exports apart from full resources, so a subset never shadows a full resource', async () => {
    await start();
    const summary = await run(source({ types: ['Patient'], elements: ['birthDate'], until: '2100-01-01T00:00:00Z' }));
    expect(summary.run.status).toBe('succeeded');
    expect(kickoffs()[0]!.query).toMatchObject({ _elements: 'birthDate', _until: '2100-01-01T00:00:00Z' });
    expect(await landedCount('Patient_subsetted')).toBe(lineCounts.get('Patient'));
    const one = await withDuckDb(':memory:', {}, (db) => db.scalar(`SELECT resource FROM read_parquet('${layout.rawGlob('gp', 'Patient_subsetted')}') LIMIT 1`));
    expect(String(one)).toContain('SUBSETTED');
    expect(String(one)).not.toContain('"name"');
    await expect(landedCount('Patient')).rejects.toThrow(/No files found/);
  });

  it('quarantines a corrupt line with its URL and line number, and counts it', async () => {
    await start({ corruptLines: [{ type: 'Patient', line: 3, text: '{"resourceType":"Patient"' }] });
    const summary = await run(source({ types: ['Patient'] }));
    expect(summary.run.status).toBe('partial');
    const [q] = ledger.quarantine({ runId: summary.run.run_id });
    expect(q!.location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir\/bulkfiles\//);
    expect(q!.record).toBe('line 3');
    expect(q!.reason).toMatch(/^not valid JSON/);
    expect(summary.run.records_landed).toBe(lineCounts.get('Patient')! - 1);
    expect(summary.run.records_in).toBe(summary.run.records_landed + summary.run.records_quarantined);
  });

  it('lands error[] OperationOutcomes in _errors and deleted[] as tombstones in _deleted', async () => {
    await start({ errorFiles: true, deletedWithSince: true });
    await run(source({ since: '2000-01-01T00:00:00Z' }));
    expect(await landedCount('_errors')).toBeGreaterThan(0);
    // The generated data has no deletions of its own: give the server some.
    await server!.close();
    server = await FhirBulkTestServer.start({ ...data, deleted: [{ type: 'Patient', id: 'gone-1' }, { type: 'Observation', id: 'gone-2' }] }, { deletedWithSince: true });
    await run(source({ since: '2000-01-01T00:00:00Z' }));
    const tombstones = await withDuckDb(':memory:', {}, (db) => db.all(`SELECT resource_type, id FROM read_parquet('${layout.rawGlob('gp', '_deleted')}') ORDER BY id`));
    expect(tombstones).toEqual([
      { resource_type: 'Patient', id: 'gone-1' },
      { resource_type: 'Observation', id: 'gone-2' },
    ]);
  });

  it('fails the run clearly when the export fails on the server, and starts afresh next time', async () => {
    await start({ failExport: true });
    await expect(run(source())).rejects.toThrow(/export failed on the server/);
    expect(ledger.runs({ source: 'gp' })[0]!.status).toBe('failed');
    expect(ledger.watermark('gp', BULK_STATE.job)).toBeUndefined();
    server!.setBehaviour({});
    expect((await run(source())).run.status).toBe('succeeded');
    expect(kickoffs()).toHaveLength(2);
  });

  it('reports an expired file (410) clearly and does not move the watermark', async () => {
    await start({ expireFilesAfterMs: 0 });
    await expect(run(source())).rejects.toThrow(/has expired on the server \(HTTP 410\)/);
    expect(ledger.watermark('gp', BULK_STATE.since)).toBeUndefined();
    expect(ledger.watermark('gp', BULK_STATE.job)).toBeUndefined();
  });

  it('resumes the job in flight instead of starting a new export, skipping files already landed', async () => {
    await start({ pollsBeforeComplete: 1 });
    // A first run lands some types, then the process "dies" before the job is finished: simulate by
    // landing with a connector whose finish never runs, then dropping one type's landing record.
    const s = source();
    const connector = makeFhirBulkConnector({ waits: WAITS })(s, { layout, logger, state: new LedgerSourceState('gp', () => ledger) });
    const interrupted = await runSource(s, { connector: { ...connector, finish: undefined, listFiles: connector.listFiles, land: connector.land, remote: true }, files: null }, { layout, ledger, logger, trigger: 'manual' });
    expect(ledger.watermark('gp', BULK_STATE.job)).toBeTruthy();
    const downloadsBefore = server!.log.filter((r) => r.path.includes('/bulkfiles/')).length;
    expect(downloadsBefore).toBe(interrupted.files.length);

    const resumed = await run(source());
    expect(kickoffs()).toHaveLength(1); // no second export
    expect(resumed.run.records_in).toBe(0); // every file was already landed: none downloaded again
    expect(server!.log.filter((r) => r.path.includes('/bulkfiles/')).length).toBe(downloadsBefore);
    expect(ledger.watermark('gp', BULK_STATE.since)).toBeTruthy();
    expect(ledger.watermark('gp', BULK_STATE.job)).toBeUndefined();
  });

  it('resumes after the process is killed mid-export: no second kick-off, everything lands once', async () => {
    await start({ pollsBeforeComplete: 4, retryAfterSeconds: 1 });
    const dir = join(layout.root, '..');
    writeFileSync(join(dir, 'carelake.yml'), `lake: ./lake\nsources:\n  - { name: gp, kind: fhir-bulk, baseUrl: "${server!.baseUrl}" }\n`);
    ledger.close();
    const child = spawn(process.execPath, [BIN, 'load', 'gp'], { cwd: dir, stdio: 'ignore' });
    // Kill it once the job has been polled: the status URL is in the ledger by then.
    while (![...server!.jobs.values()].some((j) => j.polls >= 1)) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    ledger = Ledger.open(layout.ledger);
    expect(ledger.watermark('gp', BULK_STATE.job)).toBeTruthy();
    expect(ledger.runs({ source: 'gp' })[0]!.status).toBe('running'); // the killed run

    const resumed = await run(source());
    expect(kickoffs()).toHaveLength(1);
    expect(resumed.run.status).toBe('succeeded');
    expect(resumed.run.records_in).toBe([...lineCounts.values()].reduce((a, b) => a + b, 0));
    expect(ledger.runs({ source: 'gp' }).map((r) => r.status)).toEqual(['succeeded', 'interrupted']);
  });

  it('authenticates with SMART Backend Services and never sends the token to another origin', async () => {
    const { generateKeyPair, exportJWK } = await import('jose');
    const keys = await generateKeyPair('ES384', { extractable: true });
    const privateJwk = { ...(await exportJWK(keys.privateKey)), kid: 'carelake-test', alg: 'ES384' };
    const publicJwk = { ...(await exportJWK(keys.publicKey)), kid: 'carelake-test', alg: 'ES384' };
    const keyFile = join(mkdtempSync(join(tmpdir(), 'carelake-key-')), 'client.jwk.json');
    writeFileSync(keyFile, JSON.stringify(privateJwk), { mode: 0o600 });
    await start({ requireAuth: { clientId: 'carelake', jwks: { keys: [publicJwk] }, tokenLifetimeSeconds: 60 }, redirectDownloads: true });
    const summary = await run(source({ auth: { clientId: 'carelake', privateKeyFile: keyFile, scope: 'system/*.rs' } }));
    expect(summary.run.status).toBe('succeeded');
    expect(server!.log.some((r) => r.path.startsWith('/storage/'))).toBe(true); // downloads were redirected
    expect(server!.secondOriginAuthorizationSeen).toBe(false);
    expect(server!.log.filter((r) => r.path.endsWith('$export')).every((r) => r.authorization?.startsWith('Bearer '))).toBe(true);
  });
});

describeWithShared('fhir-bulk connector on the shared real export', (shared) => {
  it('lands every resource of the real Synthea export served by the test server, counts equal to the NDJSON lines', async () => {
    const folder = join(shared, 'data', 'fhir-bulk');
    const data = await FhirBulkTestServer.fromFolder(folder);
    const server = await FhirBulkTestServer.start(data, { gzip: true });
    const layout = new LakeLayout(join(mkdtempSync(join(tmpdir(), 'carelake-bulk-shared-')), 'lake'));
    const ledger = Ledger.open(layout.ledger);
    try {
      const s = sourceConfig.parse({ name: 'synthea', kind: 'fhir-bulk', baseUrl: server.baseUrl }) as BulkSource;
      const connector = makeFhirBulkConnector({ waits: WAITS })(s, { layout, logger, state: new LedgerSourceState('synthea', () => ledger) });
      const summary = await runSource(s, { connector, files: null }, { layout, ledger, logger, trigger: 'manual' });
      expect(summary.run.status).toBe('succeeded');
      for (const [type, lines] of data.resources) {
        const landed = await withDuckDb(':memory:', {}, (db) => db.scalar(`SELECT count(*)::INTEGER FROM read_parquet('${layout.rawGlob('synthea', type)}')`));
        expect(landed, type).toBe(lines.length);
      }
    } finally {
      ledger.close();
      await server.close();
    }
  });
});
