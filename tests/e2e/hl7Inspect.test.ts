// `carelake hl7 inspect`, through the real command on files written to a temp folder: the JSON Lines
// shapes, the readable listing, and the exit codes (0 clean, 1 any problem, 2 file unreadable).

import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeWithShared } from '../sharedData.ts';

const exec = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/carelake.mjs');

async function carelake(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const jsonLines = (stdout: string): Record<string, unknown>[] =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const MSH_1 = 'MSH|^~\\&|PAS|RCB|ROUTE|RCB|20240706093000||ADT^A01^ADT_A01|CTL1|P|2.4';
const MSH_2 = 'MSH|^~\\&|PAS|RCB|ROUTE|RCB|20240331013000+0000||ADT^A03|CTL2|P|2.4||||||UNICODE UTF-8';
const GOOD_BATCH = [
  'FHS|^~\\&|PAS|RCB|||20240706||||F1',
  'BHS|^~\\&|PAS|RCB|||20240706||||B1',
  MSH_1,
  'EVN|A01|20240706093000',
  'PID|1||123^^^RCB^MR',
  'PV1|1|I',
  MSH_2,
  'PID|1',
  'BTS|2',
  'FTS|1',
  '',
].join('\r');

// Garbage before the first message, a message whose MSH-2 is broken, a good message whose MSH-7 is
// not a date/time, and a trailer that miscounts.
const BAD_FILE = ['not hl7 at all', 'MSH|^~|PAS|RCB|||20240101||ADT^A01|BAD1|P|2.4', 'PID|1', 'MSH|^~\\&|PAS|RCB|||2024-07-06||ADT^A08|OK1|P|2.4', 'BTS|5', ''].join('\n');

describe('carelake hl7 inspect', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'carelake-hl7-inspect-'));
    writeFileSync(join(dir, 'good.hl7'), GOOD_BATCH, 'latin1');
    writeFileSync(join(dir, 'bad.hl7'), BAD_FILE, 'latin1');
  });

  it('--json: one object per unit and a summary, exit 0 for a batch that parses and reconciles', async () => {
    const result = await carelake(dir, 'hl7', 'inspect', '--json', 'good.hl7');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const batch = { fileControlId: 'F1', batchControlId: 'B1' };
    expect(jsonLines(result.stdout)).toEqual([
      { kind: 'FHS', offset: 0, length: 33, controlId: 'F1' },
      { kind: 'BHS', offset: 34, length: 33, controlId: 'B1' },
      {
        kind: 'message',
        status: 'parsed',
        offset: 68,
        length: 120,
        controlId: 'CTL1',
        messageType: 'ADT',
        triggerEvent: 'A01',
        structure: 'ADT_A01',
        version: '2.4',
        sendingApplication: 'PAS',
        sendingFacility: 'RCB',
        receivingApplication: 'ROUTE',
        receivingFacility: 'RCB',
        timestamp: { sent: '20240706093000', instant: '2024-07-06T08:30:00.000Z', precision: 'second' },
        charset: null,
        delimiters: '|^~\\&',
        segments: [
          { index: 1, id: 'MSH', fields: 12 },
          { index: 2, id: 'EVN', fields: 2 },
          { index: 3, id: 'PID', fields: 3 },
          { index: 4, id: 'PV1', fields: 2 },
        ],
        batch,
        problems: [],
      },
      {
        kind: 'message',
        status: 'parsed',
        offset: 189,
        length: 91,
        controlId: 'CTL2',
        messageType: 'ADT',
        triggerEvent: 'A03',
        structure: null,
        version: '2.4',
        sendingApplication: 'PAS',
        sendingFacility: 'RCB',
        receivingApplication: 'ROUTE',
        receivingFacility: 'RCB',
        timestamp: { sent: '20240331013000+0000', instant: '2024-03-31T01:30:00.000Z', precision: 'second' },
        charset: 'UNICODE UTF-8',
        delimiters: '|^~\\&',
        segments: [
          { index: 1, id: 'MSH', fields: 18 },
          { index: 2, id: 'PID', fields: 1 },
        ],
        batch,
        problems: [],
      },
      { kind: 'BTS', offset: 281, length: 5, declared: '2' },
      { kind: 'FTS', offset: 287, length: 5, declared: '1' },
      {
        kind: 'summary',
        file: 'good.hl7',
        counts: { units: 6, messages: 2, parsed: 2, rejected: 0, withProblems: 0, controlSegments: 4, garbage: 0, batches: 1, discrepancies: 0 },
        discrepancies: [],
        ok: true,
      },
    ]);
  });

  it('--timezone places MSH-7 values sent without an offset', async () => {
    const result = await carelake(dir, 'hl7', 'inspect', '--json', '--timezone', 'America/New_York', 'good.hl7');
    const messages = jsonLines(result.stdout).filter((line) => line['kind'] === 'message');
    expect(messages.map((message) => message['timestamp'])).toEqual([
      { sent: '20240706093000', instant: '2024-07-06T13:30:00.000Z', precision: 'second' },
      { sent: '20240331013000+0000', instant: '2024-03-31T01:30:00.000Z', precision: 'second' },
    ]);
  });

  it('--json: a broken MSH is rejected, garbage and a bad MSH-7 are reported, exit 1', async () => {
    const result = await carelake(dir, 'hl7', 'inspect', '--json', 'bad.hl7');
    expect(result.code).toBe(1);
    const lines = jsonLines(result.stdout);
    expect(lines[0]).toEqual({ kind: 'garbage', offset: 0, length: 14, reason: 'text before the first MSH segment' });
    expect(lines[1]).toEqual({
      kind: 'message',
      status: 'rejected',
      offset: 15,
      length: 51,
      code: 'hl7.bad-delimiters',
      reason: 'MSH-2 (encoding characters) has 2 characters; expected 4 (component, repetition, escape, subcomponent) or 5 (with the v2.7 truncation character)',
      segment: 1,
      field: 'MSH-2',
      batch: null,
    });
    expect(lines[2]).toMatchObject({
      kind: 'message',
      status: 'parsed',
      offset: 67,
      length: 48,
      controlId: 'OK1',
      timestamp: { sent: '2024-07-06', instant: null, precision: null },
      problems: [
        {
          field: 'MSH-7',
          code: 'hl7.datetime.bad-character',
          reason: "MSH-7 (date/time of message): the date is written with '-' separators (ISO 8601 style); an HL7 date/time is digits only: YYYYMMDD…",
        },
      ],
    });
    expect(lines[3]).toEqual({ kind: 'BTS', offset: 116, length: 5, declared: '5' });
    expect(lines[4]).toEqual({
      kind: 'summary',
      file: 'bad.hl7',
      counts: { units: 4, messages: 2, parsed: 1, rejected: 1, withProblems: 1, controlSegments: 1, garbage: 1, batches: 1, discrepancies: 1 },
      discrepancies: [{ segment: 'BTS', offset: 116, declared: 5, actual: 2, reason: 'BTS-1 declares 5 but the file held 2 messages in its batch' }],
      ok: false,
    });
    expect(lines).toHaveLength(5);
  });

  it('without --json: one line per unit, problems in capitals, and a summary line', async () => {
    const good = await carelake(dir, 'hl7', 'inspect', 'good.hl7');
    expect(good.code).toBe(0);
    expect(good.stdout).toBe(
      [
        '@0 FHS ctl=F1',
        '@34 BHS ctl=B1',
        '@68 ADT^A01 ctl=CTL1 v2.4 MSH EVN PID PV1 (4 segments)',
        '@189 ADT^A03 ctl=CTL2 v2.4 MSH PID (2 segments)',
        '@281 BTS declares 2',
        '@287 FTS declares 1',
        'good.hl7: 2 messages (2 parsed, 0 rejected), 1 batch, 0 garbage units, 0 discrepancies — ok',
        '',
      ].join('\n'),
    );
    const bad = await carelake(dir, 'hl7', 'inspect', 'bad.hl7');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe(
      [
        '@0 GARBAGE 14 bytes: text before the first MSH segment',
        '@15 REJECTED hl7.bad-delimiters: MSH-2 (encoding characters) has 2 characters; expected 4 (component, repetition, escape, subcomponent) or 5 (with the v2.7 truncation character) (segment 1, MSH-2)',
        '@67 ADT^A08 ctl=OK1 v2.4 MSH (1 segment)',
        "    PROBLEM hl7.datetime.bad-character: MSH-7 (date/time of message): the date is written with '-' separators (ISO 8601 style); an HL7 date/time is digits only: YYYYMMDD…",
        '@116 BTS declares 5',
        '@116 DISCREPANCY BTS: BTS-1 declares 5 but the file held 2 messages in its batch',
        'bad.hl7: 2 messages (1 parsed, 1 rejected, 1 with problems), 1 batch, 1 garbage unit, 1 discrepancy — PROBLEMS',
        '',
      ].join('\n'),
    );
  });

  it('a file that cannot be read: one error line naming it, exit 2', async () => {
    const missing = await carelake(dir, 'hl7', 'inspect', '--json', 'no-such.hl7');
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe('error: Cannot read no-such.hl7: it does not exist (no-such.hl7)\n');
    const folder = await carelake(dir, 'hl7', 'inspect', dir);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(/^error: Cannot read .*: it is a directory/);
  });

  it('an unknown --timezone is a usage error, exit 2', async () => {
    const result = await carelake(dir, 'hl7', 'inspect', '--timezone', 'Europe/Atlantis', 'good.hl7');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("error: --timezone 'Europe/Atlantis' is not a time zone — give an IANA time zone such as Europe/London\n");
  });
});

describeWithShared('carelake hl7 inspect on real samples', (shared) => {
  const samples = join(shared, 'data/hl7v2/python-hl7');

  it('a file of two batches reconciles: exit 0', async () => {
    const result = await carelake(samples, 'hl7', 'inspect', '--json', 'sample_file1.hl7');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines.filter((line) => line['kind'] === 'message').map((line) => [line['status'], line['controlId'], (line['batch'] as { batchControlId: string }).batchControlId])).toEqual([
      ['parsed', '12334456778890', 'abchs20070101123401-1'],
      ['parsed', '12334456778891', 'abchs20070101123401-1'],
      ['parsed', '12334456778890', 'abchs20070101123401-2'],
    ]);
    expect(lines.at(-1)).toEqual({
      kind: 'summary',
      file: 'sample_file1.hl7',
      counts: { units: 9, messages: 3, parsed: 3, rejected: 0, withProblems: 0, controlSegments: 6, garbage: 0, batches: 2, discrepancies: 0 },
      discrepancies: [],
      ok: true,
    });
  });

  it('a deliberately bad file: garbage inside a batch and both trailers wrong, exit 1', async () => {
    const result = await carelake(samples, 'hl7', 'inspect', '--json', 'sample_bad_file1.hl7');
    expect(result.code).toBe(1);
    const summary = jsonLines(result.stdout).at(-1);
    expect(summary).toMatchObject({
      counts: { messages: 1, parsed: 1, rejected: 0, garbage: 1, batches: 2, discrepancies: 2 },
      discrepancies: [
        { segment: 'BTS', offset: 477, declared: 1, actual: 0 },
        { segment: 'FTS', offset: 483, declared: 1, actual: 2 },
      ],
      ok: false,
    });
  });

  it('a ReportStream batch whose BTS-1 says 25 for 20 messages: runs of segments shortened, the discrepancy listed', async () => {
    const result = await carelake(join(shared, 'data/hl7v2/cdc-reportstream'), 'hl7', 'inspect', 'test-0001-input-covid-19.hl7');
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[2]).toBe('@98 ORU^R01 ctl=911909 v2.5.1 MSH SFT PID ORC OBR OBX NTE OBX×9 SPM (17 segments)');
    expect(lines.slice(-2)).toEqual([
      '@83636 DISCREPANCY BTS: BTS-1 declares 25 but the file held 20 messages in its batch',
      'test-0001-input-covid-19.hl7: 20 messages (20 parsed, 0 rejected), 1 batch, 0 garbage units, 1 discrepancy — PROBLEMS',
    ]);
  });
});
