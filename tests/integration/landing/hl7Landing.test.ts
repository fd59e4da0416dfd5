// HL7 v2 landing through real runs into a real lake: the messages and segments rows (custom
// delimiters, character sets, time zones, big messages, awkward header values), and the rule that a
// message is stored once — duplicates within a file, across parts of a file and across runs — while a
// control id reused for other content is flagged.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceConfig } from '../../../core/config.ts';
import { withDuckDb } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { connectorFor, runSource } from '../../../pipelines/runs/runSource.ts';
import { makeHl7v2Connector, type Hl7PartLimits } from '../../../pipelines/hl7v2/hl7Connector.ts';
import { describeLocalFile } from '../../../pipelines/landing/localFiles.ts';

const logger = createLogger(null);
type Hl7Source = Extract<SourceConfig, { kind: 'hl7v2' }>;

const msh = (id: string, extra: { type?: string; time?: string; facility?: string; charset?: string } = {}) =>
  `MSH|^~\\&|PAS|${extra.facility ?? 'RX1'}|CARELAKE|QCL|${extra.time ?? '20240701120000'}||${extra.type ?? 'ADT^A01^ADT_A01'}|${id}|P|2.4||||||${extra.charset ?? ''}`;

describe('hl7v2 landing', () => {
  let root: string;
  let layout: LakeLayout;
  let ledger: Ledger;
  let inbox: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'carelake-hl7-landing-'));
    layout = new LakeLayout(join(root, 'lake'));
    ledger = Ledger.open(layout.ledger);
    inbox = join(root, 'in');
    mkdirSync(inbox);
  });
  afterEach(() => ledger.close());

  const source = (extra: Partial<Hl7Source> = {}): Hl7Source => ({ name: 'pas', kind: 'hl7v2', path: join(inbox, '*.hl7'), encoding: 'auto', timezone: 'Europe/London', ...extra });

  /** Runs the source over the files now in the inbox, optionally with small part limits. */
  const run = async (config: Hl7Source = source(), limits?: Hl7PartLimits) => {
    const ctx = { layout, logger, ledger: () => ledger };
    const connector = limits ? makeHl7v2Connector(limits)(config, { layout, logger, state: null as never }) : connectorFor(config, ctx);
    const files = await connector.listFiles();
    return runSource(config, { connector, files }, { layout, ledger, logger, trigger: 'manual' });
  };

  const query = (sql: string) => withDuckDb(':memory:', {}, (db) => db.all(sql));
  const messages = (where = 'true') =>
    query(`SELECT * EXCLUDE (_ingested_at, _run_id) REPLACE (_record::INTEGER AS _record) FROM read_parquet('${layout.rawGlob('pas', 'messages')}') WHERE ${where} ORDER BY _file, _record`);
  const segments = () => query(`SELECT * REPLACE (_record::INTEGER AS _record) FROM read_parquet('${layout.rawGlob('pas', 'segments')}') ORDER BY _file, _record, segment_index`);

  it('lands each message with its header, parsed time and raw text, and each segment with its fields as a list', async () => {
    const m1 = [msh('M1'), 'EVN|A01|20240701115900', 'PID|1||123^^^RX1^MR~9434765919^^^NHS^NH||SMITH^JANE||19700101|F', 'ZU1|x'].join('\r');
    const m2 = [msh('M2', { time: '202401', type: 'ORU^R01^ORU_R01' }), 'OBX|1|NM|1^Hb||135|g/L'].join('\r');
    const file = `${m1}\r\n${m2}\n`;
    writeFileSync(join(inbox, 'a.hl7'), file, 'latin1');

    const summary = await run();
    expect(summary.run).toMatchObject({ records_in: 2, records_landed: 2, records_quarantined: 0, records_filtered: 0 });
    const rows = await messages();
    expect(rows.map((r) => [r.control_id, r.message_type, r.trigger_event, r.structure, r.version, r.sending_facility, r.receiving_application, r.segment_count, r._record])).toEqual([
      ['M1', 'ADT', 'A01', 'ADT_A01', '2.4', 'RX1', 'CARELAKE', 4, 0],
      ['M2', 'ORU', 'R01', 'ORU_R01', '2.4', 'RX1', 'CARELAKE', 2, file.indexOf('MSH', 1)],
    ]);
    // July: British Summer Time; a month-precision value starts at local midnight of the 1st.
    expect(rows[0]).toMatchObject({ message_timestamp: '20240701120000', message_time_precision: 'second', timezone: 'Europe/London', delimiters: '|^~\\&', control_id_reused: false });
    expect(new Date(String(rows[0]!.message_time)).toISOString()).toBe('2024-07-01T11:00:00.000Z');
    expect(rows[1]!.message_time_precision).toBe('month');
    expect(new Date(String(rows[1]!.message_time)).toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(rows[0]!.message).toBe(m1);
    expect(rows[0]!.byte_length).toBe(m1.length);
    expect(rows[0]!.message_key).toMatch(/^[0-9a-f]{32}$/);

    const segs = await segments();
    expect(segs.map((s) => s.segment_id)).toEqual(['MSH', 'EVN', 'PID', 'ZU1', 'MSH', 'OBX']);
    expect(segs.map((s) => s.segment_index)).toEqual([1, 2, 3, 4, 1, 2]);
    const [mshRow, , pid] = segs;
    // HL7 field n at list index n + 1 (lists are 1-based in SQL, 0-based here).
    expect((mshRow!.fields as string[]).slice(0, 4)).toEqual(['MSH', '|', '^~\\&', 'PAS']);
    expect((mshRow!.fields as string[])[10]).toBe('M1');
    expect((pid!.fields as string[])[3]).toBe('123^^^RX1^MR~9434765919^^^NHS^NH');
    expect(pid!.message_key).toBe(rows[0]!.message_key);
    expect(pid!._record).toBe(0);
  });

  it('honours any delimiters, each message its own set', async () => {
    const custom = ['MSH#$*@%!#PAS#RX1#CARELAKE#QCL#20240701120000##ADT$A08$ADT_A01#C1#P#2.7', 'PID#1##9$$$RX1$MR*8$$$RX1$MR##DOE$J@S@X'].join('\r');
    writeFileSync(join(inbox, 'a.hl7'), [custom, msh('P1')].join('\r'), 'latin1');
    await run();
    const rows = await messages();
    expect(rows.map((r) => [r.control_id, r.trigger_event, r.delimiters])).toEqual([
      ['C1', 'A08', '#$*@%!'],
      ['P1', 'A01', '|^~\\&'],
    ]);
    const pid = (await segments()).find((s) => s.segment_id === 'PID')!;
    expect(pid.fields).toEqual(['PID', '1', '', '9$$$RX1$MR*8$$$RX1$MR', '', 'DOE$J@S@X']);
    expect(pid.delimiters).toBe('#$*@%!');
  });

  it('decodes text by MSH-18, or by the configured encoding, and says which it used', async () => {
    const utf8 = Buffer.concat([Buffer.from(`${msh('U1', { charset: 'UNICODE UTF-8' })}\rPID|1||1^^^RX1^MR||`, 'latin1'), Buffer.from('ZOË^ANNE', 'utf8')]);
    const latin = Buffer.from(`\r${msh('L1', { charset: '8859/1' })}\rPID|1||2^^^RX1^MR||ZOË^ANNE`, 'latin1');
    writeFileSync(join(inbox, 'a.hl7'), Buffer.concat([utf8, latin]));
    await run();
    const auto = await messages();
    expect(auto.map((r) => [r.control_id, r.encoding, String(r.message).endsWith('ZOË^ANNE')])).toEqual([
      ['U1', 'utf8', true],
      ['L1', 'latin1', true],
    ]);

    // A feed that mislabels: read everything as latin1, and the UTF-8 bytes stay visible as such.
    const other = new LakeLayout(join(root, 'lake2'));
    const otherLedger = Ledger.open(other.ledger);
    try {
      const config = source({ encoding: 'latin1' });
      const connector = connectorFor(config, { layout: other, logger, ledger: () => otherLedger });
      await runSource(config, { connector, files: await connector.listFiles() }, { layout: other, ledger: otherLedger, logger, trigger: 'manual' });
      const [u1] = await query(`SELECT encoding, message FROM read_parquet('${other.rawGlob('pas', 'messages')}') WHERE control_id = 'U1'`);
      expect(u1!.encoding).toBe('latin1');
      expect(String(u1!.message).endsWith('ZOÃ\u008b^ANNE')).toBe(true);
    } finally {
      otherLedger.close();
    }
  });

  it('stores a message once: a repeat in the same file, in a later part, or in a later file is counted as filtered and listed in duplicates', async () => {
    const m1 = [msh('M1'), 'PID|1||1^^^RX1^MR'].join('\r');
    const m2 = [msh('M2'), 'PID|1||2^^^RX1^MR'].join('\r');
    const m3 = [msh('M3'), 'PID|1||3^^^RX1^MR'].join('\r');
    const fileA = [m1, m2, m3, m1, m2].join('\r');
    writeFileSync(join(inbox, 'a.hl7'), fileA, 'latin1');
    // Two messages per part: the repeats of M1 and M2 sit in later parts than the originals.
    const first = await run(source(), { chars: 1 << 20, messages: 2 });
    expect(first.run).toMatchObject({ records_in: 5, records_landed: 3, records_quarantined: 0, records_filtered: 2 });

    // A later file: M2 again (filtered), and M1's control id reused with other content (landed, flagged).
    const m1Reused = [msh('M1'), 'PID|1||99^^^RX1^MR'].join('\r');
    const fileB = [m2, m1Reused].join('\r');
    writeFileSync(join(inbox, 'b.hl7'), fileB, 'latin1');
    const second = await run();
    expect(second.run).toMatchObject({ records_in: 2, records_landed: 1, records_quarantined: 0, records_filtered: 1 });

    const rows = await messages();
    expect(rows.map((r) => [String(r._file).endsWith('a.hl7') ? 'a' : 'b', r.control_id, r.control_id_reused])).toEqual([
      ['a', 'M1', false],
      ['a', 'M2', false],
      ['a', 'M3', false],
      ['b', 'M1', true],
    ]);
    const duplicates = await query(`SELECT control_id, _file, _record::INTEGER AS _record FROM read_parquet('${layout.rawGlob('pas', 'duplicates')}') ORDER BY _file, _record`);
    expect(duplicates.map((d) => [String(d._file).endsWith('a.hl7') ? 'a' : 'b', d.control_id, d._record])).toEqual([
      ['a', 'M1', fileA.lastIndexOf(m1)],
      ['a', 'M2', fileA.lastIndexOf(m2)],
      ['b', 'M2', 0],
    ]);
    // Landed segments belong to landed messages only: three of file a's, one of file b's.
    const [counts] = await query(`SELECT count(*)::INTEGER AS n, count(DISTINCT message_key)::INTEGER AS k FROM read_parquet('${layout.rawGlob('pas', 'segments')}')`);
    expect(counts).toEqual({ n: 8, k: 4 });
    // Running again lands nothing new: both files are already landed.
    const third = await run();
    expect(third.skipped.map((f) => f.location.slice(-5))).toEqual(['a.hl7', 'b.hl7']);
    expect(third.files).toEqual([]);

    // The message index is a cache of raw/: removed, it is rebuilt, and M3 is still known.
    rmSync(join(layout.root, 'index'), { recursive: true });
    writeFileSync(join(inbox, 'c.hl7'), m3, 'latin1');
    const fourth = await run();
    expect(fourth.run).toMatchObject({ records_in: 1, records_landed: 0, records_filtered: 1 });
  });

  it('flags a control id reused within one part', async () => {
    writeFileSync(join(inbox, 'a.hl7'), [[msh('X'), 'PID|1||1'].join('\r'), [msh('X'), 'PID|1||2'].join('\r')].join('\r'), 'latin1');
    await run();
    expect((await messages()).map((r) => r.control_id_reused)).toEqual([false, true]);
  });

  it('lands a message far larger than a line buffer, and header values holding line breaks', async () => {
    const big = [msh('BIG', { type: 'ORU^R01^ORU_R01' }), `OBX|1|ED|PDF^Report||^application^pdf^Base64^${'QUJD'.repeat(800_000)}`].join('\r');
    const awkward = [msh('A\\.br\\B', { facility: 'RX1\\X0A\\X' }), 'PID|1'].join('\r');
    writeFileSync(join(inbox, 'a.hl7'), [big, awkward].join('\r'), 'latin1');
    const summary = await run();
    expect(summary.run).toMatchObject({ records_landed: 2, records_quarantined: 0 });
    const rows = await messages();
    expect(rows.map((r) => [r.control_id, r.sending_facility, String(r.message).length])).toEqual([
      ['BIG', 'RX1', big.length],
      ['A\nB', 'RX1\nX', awkward.length],
    ]);
    const obx = (await segments()).find((s) => s.segment_id === 'OBX')!;
    expect((obx.fields as string[])[5]!.length).toBe('^application^pdf^Base64^'.length + 3_200_000);
  });

  it('quarantines a broken message by byte offset and lands the rest of the file', async () => {
    const good = [msh('G1'), 'PID|1'].join('\r');
    const wrapped = [msh('W1'), 'PID|1||1^^^RX1^MR||SMITH^', 'JANE||19700101'].join('\r');
    const file = [good, wrapped, msh('G2')].join('\r');
    writeFileSync(join(inbox, 'a.hl7'), file, 'latin1');
    const summary = await run();
    expect(summary.run).toMatchObject({ records_in: 3, records_landed: 2, records_quarantined: 1 });
    const [q] = ledger.quarantine({ runId: summary.run.run_id });
    expect(q).toMatchObject({ record: `offset ${file.indexOf('MSH', 1)}` });
    expect(q!.reason).toMatch(/segment 3 does not start with a segment id/);
    expect((await describeLocalFile(join(inbox, 'a.hl7'))).bytes).toBe(file.length);
  });
});
