import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvHeaderProblem, openCsvCodeMap } from '../../../transforms/terminology/csvCodeMap.ts';
import { CODE_SYSTEMS, type MapEntry } from '../../../transforms/terminology/mapEntry.ts';
import { carelakeFailure, readEntries } from '../../support/terminologyFiles.ts';

const dir = mkdtempSync(join(tmpdir(), 'carelake-csvmap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

function writeCsv(text: string): string {
  fileCount += 1;
  const file = join(dir, `map-${fileCount}.csv`);
  writeFileSync(file, text);
  return file;
}

const read = (file: string): Promise<MapEntry[]> => readEntries(openCsvCodeMap(file));

const HEADER = 'source_system,source_code,source_display,target_code,target_display,equivalence';

describe('csvHeaderProblem', () => {
  it('accepts the columns in any order, with or without target_system', () => {
    expect(csvHeaderProblem(HEADER.split(','))).toBeNull();
    expect(csvHeaderProblem([...HEADER.split(',')].reverse())).toBeNull();
    expect(csvHeaderProblem([...HEADER.split(','), 'target_system'])).toBeNull();
  });

  it('names missing, unknown and repeated columns', () => {
    expect(csvHeaderProblem(['source_system', 'source_code', 'equivalence'])).toBe('the header lacks the columns source_display, target_code, target_display');
    expect(csvHeaderProblem([...HEADER.split(','), 'notes', ''])).toBe('the header has unknown columns notes, (unnamed)');
    expect(csvHeaderProblem([...HEADER.split(','), 'source_code'])).toBe('the header names source_code more than once');
  });
});

describe('openCsvCodeMap', () => {
  it('reads rows by header name, in any column order, with displays and canonical systems', async () => {
    const file = writeCsv(
      [
        'equivalence,target_code,source_code,source_system,target_display,source_display',
        'equivalent,271026005,HB,https://trust.example.nhs.uk/lab,Haemoglobin estimation,Haemoglobin',
        'wider,26958001,LFT,https://trust.example.nhs.uk/lab,,',
        'narrower,22298006,I21.9,icd10,,',
      ].join('\n') + '\n',
    );
    const map = await openCsvCodeMap(file);
    expect(map.format).toBe('csv');
    expect(map.facts).toEqual({});
    const entries = await read(file);
    expect(entries[0]).toEqual({
      line: 2,
      sourceSystem: 'https://trust.example.nhs.uk/lab',
      sourceCode: 'HB',
      sourceDisplay: 'Haemoglobin',
      targetSystem: CODE_SYSTEMS.snomed,
      targetCode: '271026005',
      targetDisplay: 'Haemoglobin estimation',
      equivalence: 'equivalent',
      comment: null,
      active: true,
      rowId: null,
      effectiveTime: null,
      refsetId: null,
      mapGroup: null,
      mapPriority: null,
      mapRule: null,
      mapAdvice: null,
      correlationId: null,
      mapCategoryId: null,
      mapBlock: null,
    } satisfies MapEntry);
    expect(entries.map((e) => [e.line, e.sourceSystem, e.sourceCode, e.sourceDisplay, e.targetCode, e.targetDisplay, e.equivalence])).toEqual([
      [2, 'https://trust.example.nhs.uk/lab', 'HB', 'Haemoglobin', '271026005', 'Haemoglobin estimation', 'equivalent'],
      [3, 'https://trust.example.nhs.uk/lab', 'LFT', null, '26958001', null, 'wider'],
      [4, CODE_SYSTEMS.icd10, 'I21.9', null, '22298006', null, 'narrower'],
    ]);
  });

  it('reads a target_system column; an empty one means SNOMED CT', async () => {
    const file = writeCsv(`${HEADER},target_system\nsnomed,22298006,,I21.9,,equivalent,icd10\nlocal,A1,,123456,,equivalent,\nlocal,A2,,X384,,equivalent,OPCS-4\n`);
    expect((await read(file)).map((e) => [e.sourceSystem, e.targetSystem])).toEqual([
      [CODE_SYSTEMS.snomed, CODE_SYSTEMS.icd10],
      ['local', CODE_SYSTEMS.snomed],
      ['local', CODE_SYSTEMS.opcs4],
    ]);
  });

  it('lets unmatched and disjoint rows have no target, and drops a target given with them', async () => {
    const file = writeCsv(`${HEADER}\nlocal,A1,,,,unmatched\nlocal,A2,,123456,Something,disjoint\nlocal,A3,,,,Unmatched\n`);
    expect((await read(file)).map((e) => [e.sourceCode, e.targetCode, e.targetDisplay, e.equivalence])).toEqual([
      ['A1', null, null, 'unmatched'],
      ['A2', null, null, 'disjoint'],
      ['A3', null, null, 'unmatched'],
    ]);
  });

  it('tolerates a BOM, CRLF, blank lines and lines of bare commas; trims fields and header names', async () => {
    const file = writeCsv(`\uFEFF${HEADER.replaceAll(',', ' , ')}\r\n\r\n local , A1 , Display ,  123456 , , equivalent \r\n,,,,,\r\n\r\nlocal,A2,,654321,,equivalent\r\n`);
    const entries = await read(file);
    expect(entries.map((e) => [e.line, e.sourceSystem, e.sourceCode, e.sourceDisplay, e.targetCode])).toEqual([
      [3, 'local', 'A1', 'Display', '123456'],
      [6, 'local', 'A2', null, '654321'],
    ]);
  });

  it('reads quoted fields holding commas and quotes', async () => {
    const file = writeCsv(`${HEADER}\nlocal,A1,"Liver function tests, full","26958001","Liver function test, ""LFT""",wider\n`);
    const [entry] = await read(file);
    expect(entry).toMatchObject({ line: 2, sourceDisplay: 'Liver function tests, full', targetCode: '26958001', targetDisplay: 'Liver function test, "LFT"' });
  });

  it('reads header names case-insensitively', async () => {
    const file = writeCsv(`${HEADER.toUpperCase()}\nlocal,A1,,1,,EQUIVALENT\n`);
    expect((await read(file))[0]).toMatchObject({ sourceCode: 'A1', equivalence: 'equivalent' });
  });

  describe('errors', () => {
    it('missing columns, named, at the header line', async () => {
      const file = writeCsv('source_system,source_code,equivalence\nlocal,A1,equivalent\n');
      const err = await carelakeFailure(read(file));
      expect(err.code).toBe('terminology.csv-header');
      expect(err.kind).toBe('parse');
      expect(err.location).toEqual({ file, line: 1 });
      expect(err.message).toContain('lacks the columns source_display, target_code, target_display');
    });

    it('extra columns, named', async () => {
      const file = writeCsv(`${HEADER},notes,owner\nlocal,A1,,1,,equivalent,x,y\n`);
      const err = await carelakeFailure(read(file));
      expect(err.code).toBe('terminology.csv-header');
      expect(err.message).toContain('unknown columns notes, owner');
    });

    it('a bad equivalence, at its line and field, not quoting it', async () => {
      const file = writeCsv(`${HEADER}\nlocal,A1,,1,,equivalent\n\nlocal,A2,,2,,same-ish\n`);
      const err = await carelakeFailure(read(file));
      expect(err.code).toBe('terminology.csv-row');
      expect(err.location).toEqual({ file, line: 4, field: 'equivalence' });
      expect(err.message).toContain('equivalence is not one of relatedto, equivalent');
      expect(err.message).not.toContain('same-ish');
    });

    it('a missing target for a matched row', async () => {
      const file = writeCsv(`${HEADER}\nlocal,A1,,,,equivalent\n`);
      const err = await carelakeFailure(read(file));
      expect(err.location).toEqual({ file, line: 2, field: 'target_code' });
      expect(err.message).toContain('target_code is empty');
    });

    it('missing source_system, source_code, equivalence', async () => {
      expect((await carelakeFailure(read(writeCsv(`${HEADER}\n,A1,,1,,equivalent\n`)))).location).toMatchObject({ line: 2, field: 'source_system' });
      expect((await carelakeFailure(read(writeCsv(`${HEADER}\nlocal, ,,1,,equivalent\n`)))).location).toMatchObject({ line: 2, field: 'source_code' });
      expect((await carelakeFailure(read(writeCsv(`${HEADER}\nlocal,A1,,1,,\n`)))).location).toMatchObject({ line: 2, field: 'equivalence' });
    });

    it('a row with the wrong number of fields, at its line, not quoting it', async () => {
      const file = writeCsv(`${HEADER}\nlocal,A1,,1,,equivalent\nlocal,A2,Secret display,2,equivalent\n`);
      const err = await carelakeFailure(read(file));
      expect(err.code).toBe('terminology.csv-row');
      expect(err.location).toEqual({ file, line: 3 });
      expect(err.message).not.toContain('Secret');
    });

    it('an empty file', async () => {
      const err = await carelakeFailure(read(writeCsv('')));
      expect(err.code).toBe('terminology.csv-header');
      expect(err.message).toContain('empty');
    });

    it('a missing file, when opened', async () => {
      expect((await carelakeFailure(openCsvCodeMap(join(dir, 'none.csv')))).code).toBe('fs.enoent');
    });
  });

  it('a header with no rows is an empty map', async () => {
    expect(await read(writeCsv(`${HEADER}\n`))).toEqual([]);
  });
});
