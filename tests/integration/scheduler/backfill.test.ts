// Backfills: a window [from, to) limits what a run fetches, in each source kind's own terms, and never
// moves the incremental watermark. Bulk Data against the test server over loopback (the kick-off
// carries _since/_until); file sources through the real binary (files by modification time), with
// --dry-run writing nothing.

import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sourceConfig, type SourceConfig } from '../../../core/config.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { BULK_STATE, makeFhirBulkConnector } from '../../../pipelines/fhir-bulk/bulkConnector.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { LedgerSourceState } from '../../../pipelines/ledger/sourceState.ts';
import { runSource } from '../../../pipelines/runs/runSource.ts';
import { parseRunWindow, type RunWindow } from '../../../pipelines/runs/runWindow.ts';
import { generateDemoSources } from '../../../synthetic/generate.ts';
import { carelakeCli } from '../../support/carelakeCli.ts';
import { FhirBulkTestServer, type BulkServerData } from '../../support/fhirBulkServer/FhirBulkTestServer.ts';

type BulkSource = Extract<SourceConfig, { kind: 'fhir-bulk' }>;
const logger = createLogger(null);

describe('backfill of a Bulk Data source', () => {
  let data: BulkServerData;
  let server: FhirBulkTestServer;
  let layout: LakeLayout;
  let ledger: Ledger;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carelake-backfill-data-'));
    await generateDemoSources({ patients: 20, seed: 7, outDir: dir });
    data = await FhirBulkTestServer.fromFolder(join(dir, 'fhir'));
  });
  beforeEach(async () => {
    server = await FhirBulkTestServer.start(data, {});
    layout = new LakeLayout(join(mkdtempSync(join(tmpdir(), 'carelake-backfill-')), 'lake'));
    ledger = Ledger.open(layout.ledger);
  });
  afterEach(async () => {
    ledger.close();
    await server.close();
  });

  const source = (): BulkSource => sourceConfig.parse({ name: 'gp', kind: 'fhir-bulk', baseUrl: server.baseUrl, types: ['Patient'] }) as BulkSource;
  const run = (window?: RunWindow) => {
    const s = source();
    const connector = makeFhirBulkConnector({ waits: { minMs: 5, maxMs: 50 } })(s, { layout, logger, state: new LedgerSourceState(s.name, () => ledger), window });
    const origin = window ? { window_from: window.from.toISOString(), window_to: window.to.toISOString() } : {};
    return runSource(s, { connector, files: null }, { layout, ledger, logger, trigger: window ? 'backfill' : 'manual', origin });
  };
  const kickoffs = () => server.log.filter((r) => r.path.endsWith('$export'));

  it('asks the server for the window (_since/_until) and leaves the incremental _since where it was', async () => {
    await run();
    const watermark = ledger.watermark('gp', BULK_STATE.since);
    expect(watermark).toBeTruthy();

    const window = parseRunWindow('2020-01-01', '2026-01-01', new Date());
    const backfill = await run(window);
    expect(kickoffs()[1]!.query).toMatchObject({ _since: '2020-01-01T00:00:00.000Z', _until: '2026-01-01T00:00:00.000Z' });
    expect(backfill.run).toMatchObject({ status: 'succeeded', trigger: 'backfill', window_from: '2020-01-01T00:00:00.000Z', window_to: '2026-01-01T00:00:00.000Z' });
    expect(ledger.watermark('gp', BULK_STATE.since)).toBe(watermark);
    expect(ledger.watermark('gp', BULK_STATE.backfillJob)).toBeUndefined();

    // The next incremental run still asks from the watermark.
    await run();
    expect(kickoffs()[2]!.query._since).toBe(watermark);
    expect(kickoffs()[2]!.query._until).toBeUndefined();
  });
});

describe('backfill of file sources (the real binary)', () => {
  let root: string;
  const day = (iso: string) => new Date(`${iso}T12:00:00Z`);
  const msh = (id: string) => `MSH|^~\\&|PAS|RX1|CARELAKE|QCL|20260101120000||ADT^A01^ADT_A01|${id}|P|2.4\rPID|1||${id}^^^RX1^MR\r`;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'carelake-backfill-files-'));
    mkdirSync(join(root, 'in'));
    for (const [name, date] of [['jan', '2026-01-10'], ['feb', '2026-02-10'], ['mar', '2026-03-10']] as const) {
      const file = join(root, 'in', `${name}.hl7`);
      writeFileSync(file, msh(name.toUpperCase()));
      utimesSync(file, day(date), day(date));
    }
    writeFileSync(join(root, 'carelake.yml'), 'lake: ./lake\nsources:\n  - { name: pas, kind: hl7v2, path: "./in/*.hl7" }\n');
  });

  it('--dry-run lists the files modified in the window and writes nothing', async () => {
    const dry = await carelakeCli(root, ['backfill', 'pas', '--from', '2026-02-01', '--to', '2026-03-01', '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('feb.hl7');
    expect(dry.stdout).toContain('would land');
    expect(dry.stdout).not.toContain('jan.hl7');
    expect(dry.stdout).not.toContain('mar.hl7');
    expect(existsSync(join(root, 'lake'))).toBe(false);
  });

  it('lands only the window, records it on the run, and a later load lands the rest without the window twice', async () => {
    const backfill = await carelakeCli(root, ['backfill', 'pas', '--from', '2026-02-01', '--to', '2026-03-01']);
    expect(backfill.stderr).toBe('');
    expect(backfill.code).toBe(0);
    const ledger = Ledger.open(new LakeLayout(join(root, 'lake')).ledger);
    try {
      const [run] = ledger.runs({ source: 'pas' });
      expect(run).toMatchObject({ trigger: 'backfill', status: 'succeeded', files_landed: 1, window_from: '2026-02-01T00:00:00.000Z', window_to: '2026-03-01T00:00:00.000Z' });
      expect(ledger.filesOfRun(run!.run_id).map((f) => f.location.split('/').pop())).toEqual(['feb.hl7']);

      const load = await carelakeCli(root, ['load']);
      expect(load.code).toBe(0);
      const [after] = ledger.runs({ source: 'pas' });
      expect(after).toMatchObject({ files_landed: 2, files_skipped: 1 });
      expect(ledger.files('pas')).toHaveLength(3);
    } finally {
      ledger.close();
    }
  });

  it('refuses an empty or future window, naming the flag', async () => {
    const empty = await carelakeCli(root, ['backfill', 'pas', '--from', '2026-03-01', '--to', '2026-02-01']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--to \(2026-02-01\) must be after --from/);
    const bad = await carelakeCli(root, ['backfill', 'pas', '--from', '2026-02-30', '--to', '2026-03-01']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--from '2026-02-30' is not a date/);
    expect(existsSync(join(root, 'lake'))).toBe(false);
  });
});
