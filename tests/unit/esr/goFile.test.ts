import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { esrRecordValues, readEsrGoFile, type EsrEvent, type EsrRecordEvent, type EsrRejectEvent, type EsrTrailerEvent } from '../../../pipelines/esr/goFile.ts';
import { esrGoV1Layout } from '../../../pipelines/esr/layout.ts';

const FILE = 'GO_431_EXP_GOF_20121113_00000001.DAT';
const HDR = `HDR~${FILE}~20121113 101356~431~20121013 161023~20121113 000000~01`;
const layout = esrGoV1Layout();

/** A record line with exactly `count` data fields after the record type; `set` fills 1-based positions. */
function line(recordType: string, count: number, set: Record<number, string> = {}): string {
  const fields = Array.from({ length: count }, (_, i) => set[i + 1] ?? '');
  return [recordType, ...fields].join('~');
}

const ORA = line('ORA', 15, { 1: '5001', 2: 'Ward 7', 11: 'RXX01' });
const POA = line('POA', 24, { 1: '6001', 8: 'Nursing and Midwifery Registered', 9: 'Staff Nurse', 10: 'N0A' });
const PRA = line('PRA', 44, { 1: '1001', 4: '12345678', 6: 'Synthetic', 7: 'Alex' });
const ASA = line('ASA', 50, { 1: '1001', 2: '2001', 25: '0.8', 34: 'Nursing and Midwifery Registered|Staff Nurse' });
const COA = line('COA', 16, { 1: '1001', 2: '2001', 3: '3001', 8: '100200', 14: '100' });
const PHA = line('PHA', 7, { 1: '1001', 2: '4001', 3: 'W1', 4: '0113 000 0000' });
const PRD = 'PRD~1002';
const ASD = 'ASD~2002';

function file(lines: string[], eol = '\n', finalEol = true): string {
  return lines.join(eol) + (finalEol ? eol : '');
}

async function read(input: string | Uint8Array | (string | Uint8Array)[], options = {}): Promise<EsrEvent[]> {
  const chunks = Array.isArray(input) ? input : [input];
  const events: EsrEvent[] = [];
  for await (const event of readEsrGoFile(chunks, FILE, layout, options)) events.push(event);
  return events;
}

const records = (events: EsrEvent[]) => events.filter((event): event is EsrRecordEvent => event.type === 'record');
const rejects = (events: EsrEvent[]) => events.filter((event): event is EsrRejectEvent => event.type === 'reject');
const valuesOf = (event: EsrRecordEvent) => esrRecordValues(layout.recordTypes[event.recordType]!, event.fields);
const trailer = (events: EsrEvent[]) => events.filter((event): event is EsrTrailerEvent => event.type === 'trailer');

describe('readEsrGoFile', () => {
  const good = [HDR, ORA, POA, PRA, ASA, COA, PHA, PRD, ASD, 'TRL~10'];

  it('reads a good file: header, one event per record with its line, a matching trailer', async () => {
    const events = await read(file(good));
    expect(events.map((event) => `${event.type}:${event.line}`)).toEqual([
      'header:1', 'record:2', 'record:3', 'record:4', 'record:5', 'record:6', 'record:7', 'record:8', 'record:9', 'trailer:10',
    ]);
    expect(events[0]).toEqual({
      type: 'header',
      line: 1,
      fields: { file_name: FILE, created_at: '20121113 101356', vpd: '431', previous_run_at: '20121013 161023', run_at: '20121113 000000', interface_version: '01' },
      raw: HDR,
    });
    expect(records(events).map((event) => [event.recordType, event.dataset, event.action])).toEqual([
      ['ORA', 'organisation', 'upsert'],
      ['POA', 'position', 'upsert'],
      ['PRA', 'person', 'upsert'],
      ['ASA', 'assignment', 'upsert'],
      ['COA', 'costing', 'upsert'],
      ['PHA', 'phone', 'upsert'],
      ['PRD', 'person', 'delete'],
      ['ASD', 'assignment', 'delete'],
    ]);
    expect(trailer(events)).toEqual([{ type: 'trailer', line: 10, declared: 10, actual: 10, ok: true }]);
    expect(rejects(events)).toEqual([]);
  });

  it('maps values to the layout columns by type, empty fields to null, and keeps the raw line', async () => {
    const [ora, poa, pra, asa] = records(await read(file(good)));
    expect(valuesOf(ora!)).toMatchObject({ org_id: '5001', org_name: 'Ward 7', nacs_code: 'RXX01', org_type: null });
    expect(valuesOf(poa!)).toMatchObject({ position_id: '6001', staff_group: 'Nursing and Midwifery Registered', job_role: 'Staff Nurse', occupation_code: 'N0A' });
    expect(valuesOf(pra!)).toMatchObject({ person_id: '1001', employee_number: '12345678', last_name: 'Synthetic', first_name: 'Alex', date_of_birth: null });
    expect(Object.keys(valuesOf(pra!))).toHaveLength(44);
    expect(valuesOf(asa!)).toMatchObject({ person_id: '1001', assignment_id: '2001', fte: 0.8 });
    expect(pra!.raw).toBe(PRA);
  });

  it('splits | sub-fields (job name: staff group | job role)', async () => {
    const asa = records(await read(file(good))).find((event) => event.recordType === 'ASA');
    expect(valuesOf(asa!)['job_name']).toEqual(['Nursing and Midwifery Registered', 'Staff Nurse']);
  });

  it('reads dates and timestamps as ISO text', async () => {
    const text = line('PRA', 44, { 1: '1001', 13: '19800229', 16: '20240101', 38: '20240102 235959' });
    const [pra] = records(await read(file([HDR, text, 'TRL~3'])));
    expect(valuesOf(pra!)).toMatchObject({ date_of_birth: '1980-02-29', hire_date: '2024-01-01', last_update_at: '2024-01-02T23:59:59' });
  });

  it.each<{ description: string; set: Record<number, string>; field: string; position: number; what: string }>([
    { description: 'a date that is not a calendar date', set: { 16: '20230229' }, field: 'hire_date', position: 16, what: 'a yyyyMMdd date' },
    { description: 'a date with separators', set: { 13: '1980-02-29' }, field: 'date_of_birth', position: 13, what: 'a yyyyMMdd date' },
    { description: 'a timestamp at hour 24', set: { 38: '20240102 240000' }, field: 'last_update_at', position: 38, what: 'a yyyyMMdd HHmmss timestamp' },
  ])('rejects a record with $description, naming line and field but not the value', async ({ set, field, position, what }) => {
    const text = line('PRA', 44, { 1: '1001', ...set });
    const events = await read(file([HDR, PRA, text, 'TRL~4']));
    expect(records(events)).toHaveLength(1);
    const [reject] = rejects(events);
    expect(reject).toMatchObject({ line: 3, code: 'esr.bad-value', recordType: 'PRA', field });
    expect(reject!.message).toBe(`${FILE} line 3: PRA field ${position} (${field}) is not ${what}`);
    for (const value of Object.values(set)) expect(reject!.message).not.toContain(value);
  });

  it('rejects a number field that is not a number', async () => {
    const events = await read(file([HDR, line('ASA', 50, { 1: '1001', 2: '2001', 25: '0,8' }), 'TRL~3']));
    expect(rejects(events)[0]).toMatchObject({ line: 2, code: 'esr.bad-value', field: 'fte' });
  });

  it('reads delete records as the id alone', async () => {
    const deletes = records(await read(file(good))).filter((event) => event.action === 'delete');
    expect(deletes.map(valuesOf)).toEqual([{ person_id: '1002' }, { assignment_id: '2002' }]);
  });

  const endings = [
    { description: 'LF', text: file(good, '\n') },
    { description: 'CRLF', text: file(good, '\r\n') },
    { description: 'CRLF without a final line end', text: file(good, '\r\n', false) },
    { description: 'a mix of CRLF and LF', text: good.map((l, i) => l + (i % 2 === 0 ? '\r\n' : '\n')).join('') },
    { description: 'a UTF-8 BOM', text: `\ufeff${file(good, '\r\n')}` },
  ];
  it.each(endings)('gives the same events for $description', async ({ text }) => {
    const expected = await read(file(good));
    expect(await read(text)).toEqual(expected);
  });

  it('gives the same events however the bytes are chunked (CRLF split across chunks)', async () => {
    const data = Buffer.from(file(good, '\r\n'), 'utf8');
    const oneByte = Array.from(data, (byte) => Uint8Array.of(byte));
    expect(await read(oneByte)).toEqual(await read(file(good)));
  });

  const wrongCounts = [
    { description: 'a PRA one field short', bad: line('PRA', 43, { 1: '1003' }), message: `${FILE} line 3: PRA record has 43 fields after the record type, expected 44 (45 '~'-separated fields including PRA)` },
    { description: 'a PRA one field long', bad: line('PRA', 45, { 1: '1003' }), message: `${FILE} line 3: PRA record has 45 fields after the record type, expected 44 (45 '~'-separated fields including PRA)` },
    { description: 'an ASA with 49 fields', bad: line('ASA', 49), message: `${FILE} line 3: ASA record has 49 fields after the record type, expected 50 (51 '~'-separated fields including ASA)` },
    { description: 'a delete record with two fields', bad: 'PRD~1003~extra', message: `${FILE} line 3: PRD record has 2 fields after the record type, expected 1 (2 '~'-separated fields including PRD)` },
    { description: 'a delete record with no id field', bad: 'ASD', message: `${FILE} line 3: ASD record has 0 fields after the record type, expected 1 (2 '~'-separated fields including ASD)` },
  ];
  it.each(wrongCounts)('rejects $description, naming file, line and expected vs actual count', async ({ bad, message }) => {
    const events = await read(file([HDR, PRA, bad, ASA, 'TRL~5']));
    expect(rejects(events)).toEqual([{ type: 'reject', line: 3, code: 'esr.field-count', recordType: bad.slice(0, 3), message, raw: bad }]);
    expect(records(events).map((event) => event.line)).toEqual([2, 4]);
    expect(trailer(events)[0]).toMatchObject({ ok: true });
  });

  it('does not quote values in reject messages', async () => {
    const bad = line('PRA', 43, { 6: 'Surname', 14: 'QQ123456C' });
    const [reject] = rejects(await read(file([HDR, bad, 'TRL~3'])));
    expect(reject!.message).not.toMatch(/Surname|QQ123456C/);
    expect(reject!.raw).toBe(bad);
  });

  const structure: { description: string; lines: string[]; expected: { line: number | null; code: string; recordType?: string; field?: string }[] }[] = [
    { description: 'a record before HDR', lines: [PRA, HDR, 'TRL~3'], expected: [{ line: 1, code: 'esr.before-header', recordType: 'PRA' }] },
    { description: 'an unknown record type', lines: [HDR, line('XYZ', 3), 'TRL~3'], expected: [{ line: 2, code: 'esr.unknown-record-type', recordType: 'XYZ' }] },
    { description: 'a line without a record type', lines: [HDR, 'hello', 'TRL~3'], expected: [{ line: 2, code: 'esr.unknown-record-type' }] },
    { description: 'a second HDR', lines: [HDR, HDR, 'TRL~3'], expected: [{ line: 2, code: 'esr.duplicate-header', recordType: 'HDR' }] },
    { description: 'a record after TRL', lines: [HDR, 'TRL~2', PRD], expected: [{ line: 3, code: 'esr.after-trailer', recordType: 'PRD' }] },
    { description: 'an HDR with too few fields', lines: [`HDR~${FILE}~01`, PRD, 'TRL~3'], expected: [{ line: 1, code: 'esr.bad-header', recordType: 'HDR' }] },
    { description: 'an HDR with an impossible created timestamp', lines: [`HDR~${FILE}~20121313 101356~431~~20121113 000000~01`, 'TRL~2'], expected: [{ line: 1, code: 'esr.bad-header', recordType: 'HDR', field: 'created_at' }] },
    { description: 'an HDR with an empty VPD', lines: [`HDR~${FILE}~20121113 101356~~~20121113 000000~01`, 'TRL~2'], expected: [{ line: 1, code: 'esr.bad-header', recordType: 'HDR', field: 'vpd' }] },
  ];
  it.each(structure)('rejects $description', async ({ lines, expected }) => {
    const got = rejects(await read(file(lines))).map(({ line: at, code, recordType, field }) => ({
      line: at,
      code,
      ...(recordType !== undefined ? { recordType } : {}),
      ...(field !== undefined ? { field } : {}),
    }));
    expect(got).toEqual(expected);
  });

  it('accepts an HDR without a previous run (first extract)', async () => {
    const [header] = await read(file([`HDR~${FILE}~20121113 101356~431~~20121113 000000~01`, 'TRL~2']));
    expect(header).toMatchObject({ type: 'header', fields: { previous_run_at: null } });
  });

  const trailers: { description: string; text: string; expected: Omit<EsrTrailerEvent, 'type' | 'message'>; message?: RegExp }[] = [
    { description: 'TRL counting every line including HDR and TRL', text: file([HDR, PRA, PRD, 'TRL~4']), expected: { line: 4, declared: 4, actual: 4, ok: true } },
    { description: 'TRL declaring fewer lines than the file has', text: file([HDR, PRA, PRD, 'TRL~3']), expected: { line: 4, declared: 3, actual: 4, ok: false }, message: /TRL declares 3 lines but the file has 4 lines/ },
    { description: 'TRL declaring more lines than the file has', text: file([HDR, PRA, 'TRL~9']), expected: { line: 3, declared: 9, actual: 3, ok: false } },
    { description: 'TRL counting data lines only (a common producer bug)', text: file([HDR, PRA, PRD, 'TRL~2']), expected: { line: 4, declared: 2, actual: 4, ok: false } },
    { description: 'a blank line counts as a line of the file', text: `${HDR}\n${PRA}\n\n${PRD}\nTRL~5\n`, expected: { line: 5, declared: 5, actual: 5, ok: true } },
    { description: 'a non-numeric TRL count', text: file([HDR, 'TRL~four']), expected: { line: 2, declared: null, actual: 2, ok: false }, message: /whole number/ },
    { description: 'a TRL with an extra field', text: file([HDR, 'TRL~2~x']), expected: { line: 2, declared: null, actual: 2, ok: false } },
    { description: 'a file cut off before TRL', text: file([HDR, PRA, PRD]), expected: { line: null, declared: null, actual: 3, ok: false }, message: /ends at line 3 without a TRL/ },
  ];
  it.each(trailers)('checks the trailer: $description', async ({ text, expected, message }) => {
    const found = trailer(await read(text));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ type: 'trailer', ...expected });
    if (message) expect(found[0]!.message).toMatch(message);
    if (expected.ok) expect(found[0]!.message).toBeUndefined();
  });

  it('reports an empty file as missing both header and trailer', async () => {
    expect(await read('')).toEqual([
      { type: 'reject', line: null, code: 'esr.missing-header', message: `${FILE}: the file has no HDR header line`, raw: '' },
      { type: 'trailer', line: null, declared: null, actual: 0, ok: false, message: `${FILE}: the file ends at line 0 without a TRL trailer line; it may be truncated` },
    ]);
  });

  it('decodes latin1 files when asked', async () => {
    const data = Buffer.from(file([HDR, line('ORA', 15, { 1: '5001', 2: 'Caf\u00e9 Ward' }), 'TRL~3']), 'latin1');
    const [ora] = records(await read(data, { encoding: 'latin1' }));
    expect(valuesOf(ora!)['org_name']).toBe('Café Ward');
  });

  it('stops cleanly when the consumer stops early', async () => {
    async function* endless(): AsyncGenerator<string> {
      yield `${HDR}\n`;
      for (;;) yield `${PRD}\n`;
    }
    const seen: string[] = [];
    for await (const event of readEsrGoFile(endless(), FILE, layout)) {
      seen.push(event.type);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['header', 'record', 'record']);
  });

  it('passes on a failure of the source', async () => {
    async function* failing(): AsyncGenerator<string> {
      yield `${HDR}\n`;
      throw new Error('connection reset');
    }
    await expect(async () => {
      for await (const event of readEsrGoFile(failing(), FILE, layout)) void event;
    }).rejects.toThrow('connection reset');
  });
});
