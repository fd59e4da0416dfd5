// The HL7 v2 and ESR connectors through a real run: bad messages and records are quarantined with
// their position and reason while the rest lands; an ESR file whose trailer does not reconcile is
// quarantined whole.

import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceConfig } from '../../../core/config.ts';
import { withDuckDb } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource } from '../../../pipelines/runs/runSource.ts';

const logger = createLogger(null);
const msh = (id: string, type = 'ADT^A01^ADT_A01') => `MSH|^~\\&|PAS|RX1|CARELAKE|QCL|20260101120000||${type}|${id}|P|2.4`;

describe('hl7v2 and esr landing', () => {
  let root: string;
  let layout: LakeLayout;
  let ledger: Ledger;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'carelake-hl7-esr-'));
    layout = new LakeLayout(join(root, 'lake'));
    ledger = Ledger.open(layout.ledger);
  });
  afterEach(() => ledger.close());
  const run = async (source: SourceConfig) => runSource(source, await listSourceFiles(source, { layout, logger, ledger: () => ledger }), { layout, ledger, logger, trigger: 'manual' });

  it('lands good HL7 messages with their segments, quarantines a broken one by byte offset, and records a wrong BTS count', async () => {
    mkdirSync(join(root, 'in'));
    const good1 = [msh('M1'), 'PID|1||123^^^RX1^MR~9434765919^^^NHS^NH||SMITH^JANE||19700101|F', 'PV1|1|I'].join('\r');
    const broken = ['MSH|^~\\&|PAS|RX1|CARELAKE|QCL|20260101120000||ADT^A01|', 'PID|1||124^^^RX1^MR'].join('\r'); // no MSH-10
    const good2 = [msh('M3', 'ADT^A03^ADT_A03'), 'PID|1||123^^^RX1^MR'].join('\r');
    const file = ['BHS|^~\\&|PAS|RX1', good1, broken, good2, 'BTS|2'].join('\r') + '\r';
    writeFileSync(join(root, 'in', 'feed.hl7'), file, 'latin1');

    const summary = await run({ name: 'pas', kind: 'hl7v2', path: join(root, 'in', '*.hl7'), encoding: 'auto', timezone: 'Europe/London' });
    expect(summary.run.records_in).toBe(3);
    expect(summary.run.records_landed).toBe(2);
    expect(summary.run.records_quarantined).toBe(1);
    const [q] = ledger.quarantine({ runId: summary.run.run_id });
    expect(q!.record).toBe(`offset ${file.indexOf('MSH|^~\\&|PAS|RX1|CARELAKE|QCL|20260101120000||ADT^A01|\r')}`);
    expect(q!.reason).toMatch(/MSH-10/);
    expect(summary.files[0]!.reconciliation).toEqual([expect.objectContaining({ declared: 2, actual: 3 })]);
    expect(summary.run.status).toBe('partial');

    const rows = await withDuckDb(':memory:', {}, (db) =>
      db.all(`SELECT m.control_id, m.trigger_event, s.segment_id, s.fields[4] AS f3 FROM read_parquet('${layout.rawGlob('pas', 'messages')}') m
              JOIN read_parquet('${layout.rawGlob('pas', 'segments')}') s USING (message_key) WHERE s.segment_id = 'PID' ORDER BY m.control_id`),
    );
    expect(rows).toEqual([
      { control_id: 'M1', trigger_event: 'A01', segment_id: 'PID', f3: '123^^^RX1^MR~9434765919^^^NHS^NH' },
      { control_id: 'M3', trigger_event: 'A03', segment_id: 'PID', f3: '123^^^RX1^MR' },
    ]);
  });

  const hdr = (name: string) => `HDR~${name}~20260101 010000~431~20251231 010000~20260101 010000~1.0`;
  const pra = (id: string) => ['PRA', id, ...Array<string>(43).fill('')].join('~');
  const ora = (id: string) => ['ORA', id, ...Array<string>(14).fill('')].join('~');

  it('quarantines an ESR record with the wrong field count, naming line and counts, and lands the rest', async () => {
    const dir = join(root, 'esr');
    mkdirSync(dir);
    const name = 'GO_431_EXP_GOF_20260101_00000001.DAT';
    const lines = [hdr(name), ora('O1'), pra('P1'), 'PRA~P2~only-three~fields', pra('P3')];
    writeFileSync(join(dir, name), [...lines, `TRL~${lines.length + 1}`].join('\r\n') + '\r\n');
    const summary = await run({ name: 'esr', kind: 'esr', path: dir, pattern: 'GO_*_GO?_*.DAT', layout: 'esr-go-v1' });
    expect([summary.run.records_in, summary.run.records_landed, summary.run.records_quarantined]).toEqual([4, 3, 1]);
    const [q] = ledger.quarantine({ runId: summary.run.run_id });
    expect(q!.record).toBe('line 4');
    expect(q!.reason).toMatch(/44/);
    const people = await withDuckDb(':memory:', {}, (db) => db.all(`SELECT person_id, record_type, action, _record::INTEGER AS line FROM read_parquet('${layout.rawGlob('esr', 'person')}') ORDER BY 1`));
    expect(people).toEqual([
      { person_id: 'P1', record_type: 'PRA', action: 'upsert', line: 3 },
      { person_id: 'P3', record_type: 'PRA', action: 'upsert', line: 5 },
    ]);
  });

  it('quarantines a whole ESR file whose TRL count does not reconcile: nothing of it lands', async () => {
    const dir = join(root, 'esr');
    mkdirSync(dir);
    const name = 'GO_431_EXP_GOF_20260101_00000001.DAT';
    const lines = [hdr(name), pra('P1'), pra('P2')];
    const bytes = [...lines, 'TRL~9'].join('\r\n') + '\r\n';
    writeFileSync(join(dir, name), bytes);
    const summary = await run({ name: 'esr', kind: 'esr', path: dir, pattern: 'GO_*_GO?_*.DAT', layout: 'esr-go-v1' });
    expect(summary.files[0]!.status).toBe('quarantined');
    expect([summary.run.records_in, summary.run.records_landed, summary.run.records_quarantined]).toEqual([2, 0, 2]);
    expect(existsSync(layout.rawSourceDir('esr'))).toBe(false);
    const stored = join(layout.quarantineRunDir('esr', summary.run.run_id), name);
    expect(readFileSync(stored, 'utf8')).toBe(bytes);
    expect(JSON.parse(readFileSync(`${stored}.reason.json`, 'utf8'))).toMatchObject({ reason: 'TRL declares 9 lines but the file has 4', field: 'TRL' });
    // The same bytes are not tried again.
    expect((await run({ name: 'esr', kind: 'esr', path: dir, pattern: 'GO_*_GO?_*.DAT', layout: 'esr-go-v1' })).run.files_skipped).toBe(1);
  });
});
