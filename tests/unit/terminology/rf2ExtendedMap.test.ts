import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { CODE_SYSTEMS, type MapEntry } from '../../../transforms/terminology/mapEntry.ts';
import { RF2_COLUMNS, openRf2ExtendedMap, rf2Layout, rf2Target } from '../../../transforms/terminology/rf2ExtendedMap.ts';
import { carelakeFailure, readEntries } from '../../support/terminologyFiles.ts';

const dir = mkdtempSync(join(tmpdir(), 'carelake-rf2-'));
let fileCount = 0;
// The streaming test writes ~40 MB: not left behind.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeMap(lines: readonly string[], eol = '\n'): string {
  fileCount += 1;
  const file = join(dir, `der2_iisssccRefset_ExtendedMapSnapshot_${fileCount}.txt`);
  writeFileSync(file, lines.join(eol) + eol);
  return file;
}

const INT_HEADER = RF2_COLUMNS.international.join('\t');
const UK_HEADER = RF2_COLUMNS['uk-clinical'].join('\t');

type Fields = Record<string, string>;

const INT_DEFAULTS: Fields = {
  id: '00000000-0000-4000-8000-000000000001',
  effectiveTime: '20250101',
  active: '1',
  moduleId: '449080006',
  refsetId: '447562003',
  referencedComponentId: '22298006',
  mapGroup: '1',
  mapPriority: '1',
  mapRule: 'TRUE',
  mapAdvice: 'ALWAYS I21.9',
  mapTarget: 'I21.9',
  correlationId: '447561005',
  mapCategoryId: '447637006',
};

const UK_DEFAULTS: Fields = {
  ...INT_DEFAULTS,
  moduleId: '999000031000000106',
  refsetId: '999002271000000101',
  mapTarget: 'I219',
  mapRule: '',
  mapAdvice: '',
  mapCategoryId: '',
  mapBlock: '1',
};

function intRow(set: Fields = {}): string {
  const fields = { ...INT_DEFAULTS, ...set };
  return RF2_COLUMNS.international.map((name) => fields[name]).join('\t');
}

function ukRow(set: Fields = {}): string {
  const fields = { ...UK_DEFAULTS, ...set };
  return RF2_COLUMNS['uk-clinical'].map((name) => fields[name]).join('\t');
}

const read = (file: string): Promise<MapEntry[]> => readEntries(openRf2ExtendedMap(file));

describe('rf2Layout', () => {
  it('tells the International and UK Clinical Edition headers apart', () => {
    expect(rf2Layout(INT_HEADER)).toBe('international');
    expect(rf2Layout(UK_HEADER)).toBe('uk-clinical');
  });

  it('tolerates a BOM, a trailing CR and stray spaces', () => {
    expect(rf2Layout(`\uFEFF${INT_HEADER}\r`)).toBe('international');
    expect(rf2Layout(UK_HEADER.replace('\tmapBlock', '\t mapBlock '))).toBe('uk-clinical');
  });

  it('is null for anything else', () => {
    expect(rf2Layout('')).toBeNull();
    expect(rf2Layout(INT_HEADER.replaceAll('\t', ','))).toBeNull();
    expect(rf2Layout(`${INT_HEADER}\textra`)).toBeNull();
    expect(rf2Layout(INT_HEADER.replace('mapCategoryId', 'mapcategoryid'))).toBeNull();
    expect(rf2Layout(RF2_COLUMNS.international.slice(0, 12).join('\t'))).toBeNull();
  });
});

describe('rf2Target', () => {
  it('maps correlations to equivalences', () => {
    expect(rf2Target('A01.0', '447557004')).toEqual({ code: 'A01.0', equivalence: 'equivalent', comment: null });
    expect(rf2Target('A01.0', '447558009')).toEqual({ code: 'A01.0', equivalence: 'narrower', comment: null });
    expect(rf2Target('A01.0', '447559001')).toEqual({ code: 'A01.0', equivalence: 'wider', comment: null });
    expect(rf2Target('A01.0', '447560006')).toEqual({ code: 'A01.0', equivalence: 'inexact', comment: null });
    expect(rf2Target('A01.0', '447561005')).toEqual({ code: 'A01.0', equivalence: 'relatedto', comment: null });
    expect(rf2Target('A01.0', '123456789')).toEqual({ code: 'A01.0', equivalence: 'relatedto', comment: null });
  });

  it('makes empty, #-prefixed and not-mappable targets unmatched with no code, keeping the text as the comment', () => {
    expect(rf2Target('', '447561005')).toEqual({ code: null, equivalence: 'unmatched', comment: null });
    expect(rf2Target('  ', '447557004')).toEqual({ code: null, equivalence: 'unmatched', comment: null });
    expect(rf2Target('#NC', '447561005')).toEqual({ code: null, equivalence: 'unmatched', comment: '#NC' });
    expect(rf2Target(' #NIS ', '447561005')).toEqual({ code: null, equivalence: 'unmatched', comment: '#NIS' });
    expect(rf2Target('A01.0', '447556008')).toEqual({ code: null, equivalence: 'unmatched', comment: 'A01.0' });
  });
});

describe('openRf2ExtendedMap', () => {
  it('reads an International file (LF): every row, inactive and older ones too, with the RF2 columns', async () => {
    const file = writeMap([
      INT_HEADER,
      intRow(),
      intRow({ id: '00000000-0000-4000-8000-000000000002', effectiveTime: '20200131', active: '0', mapTarget: 'I21.0', mapRule: '', mapAdvice: '' }),
      intRow({ id: '00000000-0000-4000-8000-000000000002', effectiveTime: '20240731', mapGroup: '2', mapPriority: '3', mapTarget: '', correlationId: '447561005', mapCategoryId: '447638001' }),
    ]);
    const map = await openRf2ExtendedMap(file);
    expect(map.format).toBe('rf2');
    expect(map.file).toBe(file);
    expect(map.facts).toEqual({ layout: 'international' });
    const entries = await read(file);
    expect(entries).toHaveLength(3);
    expect(entries[0]).toEqual({
      line: 2,
      sourceSystem: CODE_SYSTEMS.snomed,
      sourceCode: '22298006',
      sourceDisplay: null,
      targetSystem: CODE_SYSTEMS.icd10,
      targetCode: 'I21.9',
      targetDisplay: null,
      equivalence: 'relatedto',
      comment: null,
      active: true,
      rowId: '00000000-0000-4000-8000-000000000001',
      effectiveTime: '20250101',
      refsetId: '447562003',
      mapGroup: 1,
      mapPriority: 1,
      mapRule: 'TRUE',
      mapAdvice: 'ALWAYS I21.9',
      correlationId: '447561005',
      mapCategoryId: '447637006',
      mapBlock: null,
    } satisfies MapEntry);
    expect(entries[1]).toMatchObject({ line: 3, active: false, effectiveTime: '20200131', targetCode: 'I21.0', mapRule: null, mapAdvice: null });
    expect(entries[2]).toMatchObject({ line: 4, active: true, mapGroup: 2, mapPriority: 3, targetCode: null, equivalence: 'unmatched', comment: null, mapCategoryId: '447638001' });
  });

  it('reads a UK Clinical Edition file (CRLF): mapBlock, OPCS refsets, #NC/#NIS targets', async () => {
    const file = writeMap(
      [
        UK_HEADER,
        ukRow({ mapTarget: 'G35X', mapBlock: '2' }),
        ukRow({ refsetId: '1126441000000105', mapTarget: 'X384' }),
        ukRow({ refsetId: '1382401000000109', mapTarget: 'X384' }),
        ukRow({ refsetId: '999002741000000101', mapTarget: 'X384' }),
        ukRow({ mapTarget: '#NC' }),
        ukRow({ mapTarget: '#NIS', active: '0' }),
        ukRow({ refsetId: '6011000124106', mapTarget: 'I21.9' }),
      ],
      '\r\n',
    );
    expect((await openRf2ExtendedMap(file)).facts).toEqual({ layout: 'uk-clinical' });
    const entries = await read(file);
    expect(entries.map((e) => [e.line, e.targetSystem, e.targetCode, e.equivalence, e.comment, e.mapBlock, e.mapCategoryId, e.active])).toEqual([
      [2, CODE_SYSTEMS.icd10, 'G35X', 'relatedto', null, 2, null, true],
      [3, CODE_SYSTEMS.opcs4, 'X384', 'relatedto', null, 1, null, true],
      [4, CODE_SYSTEMS.opcs4, 'X384', 'relatedto', null, 1, null, true],
      [5, CODE_SYSTEMS.opcs4, 'X384', 'relatedto', null, 1, null, true],
      [6, CODE_SYSTEMS.icd10, null, 'unmatched', '#NC', 1, null, true],
      [7, CODE_SYSTEMS.icd10, null, 'unmatched', '#NIS', 1, null, false],
      [8, 'http://hl7.org/fhir/sid/icd-10-cm', 'I21.9', 'relatedto', null, 1, null, true],
    ]);
    // CR is not left on the last field.
    expect(entries.every((e) => e.mapBlock === 1 || e.mapBlock === 2)).toBe(true);
  });

  it('maps each correlationId of the rows', async () => {
    const correlations = ['447557004', '447558009', '447559001', '447560006', '447561005', '447556008', '900000000000001'];
    const file = writeMap([INT_HEADER, ...correlations.map((correlationId) => intRow({ correlationId }))]);
    const entries = await read(file);
    expect(entries.map((e) => [e.correlationId, e.equivalence, e.targetCode])).toEqual([
      ['447557004', 'equivalent', 'I21.9'],
      ['447558009', 'narrower', 'I21.9'],
      ['447559001', 'wider', 'I21.9'],
      ['447560006', 'inexact', 'I21.9'],
      ['447561005', 'relatedto', 'I21.9'],
      ['447556008', 'unmatched', null],
      ['900000000000001', 'relatedto', 'I21.9'],
    ]);
  });

  it('skips blank lines but counts them, so line numbers are the file lines', async () => {
    const file = writeMap([INT_HEADER, intRow(), '', intRow()]);
    expect((await read(file)).map((e) => e.line)).toEqual([2, 4]);
  });

  it('tolerates a BOM on the header', async () => {
    const file = writeMap([`\uFEFF${INT_HEADER}`, intRow()]);
    expect(await read(file)).toHaveLength(1);
  });

  it('refuses a header that is neither layout, at line 1, saying what was expected', async () => {
    const file = writeMap([INT_HEADER.replace('mapCategoryId', 'mapKind'), intRow()]);
    const err = await carelakeFailure(openRf2ExtendedMap(file));
    expect(err.code).toBe('terminology.rf2-header');
    expect(err.kind).toBe('parse');
    expect(err.location).toEqual({ file, line: 1 });
    expect(err.message).toContain('column 13');
    expect(err.hint).toContain(INT_HEADER.replaceAll('\t', ' '));
    expect(err.hint).toContain('mapBlock');
  });

  it('refuses an empty file as having no header', async () => {
    const file = join(dir, 'empty.txt');
    writeFileSync(file, '');
    const err = await carelakeFailure(openRf2ExtendedMap(file));
    expect(err.code).toBe('terminology.rf2-header');
    expect(err.message).toContain('empty');
  });

  it('reports a missing file as a filesystem error', async () => {
    const err = await carelakeFailure(openRf2ExtendedMap(join(dir, 'nope.txt')));
    expect(err.code).toBe('fs.enoent');
  });

  describe('row errors name file, line and field, never the value', () => {
    async function rowError(rows: string[], header = INT_HEADER): Promise<{ err: CarelakeError; file: string }> {
      const file = writeMap([header, ...rows]);
      return { err: await carelakeFailure(read(file)), file };
    }

    it('wrong column count', async () => {
      const { err, file } = await rowError([intRow(), intRow().split('\t').slice(0, 12).join('\t')]);
      expect(err.code).toBe('terminology.rf2-row');
      expect(err.kind).toBe('parse');
      expect(err.location).toEqual({ file, line: 3 });
      expect(err.message).toContain('12 tab-separated fields, expected 13');
    });

    it('a bad UUID', async () => {
      const { err, file } = await rowError([intRow(), intRow(), intRow({ id: 'not-a-uuid' })]);
      expect(err.code).toBe('terminology.rf2-row');
      expect(err.location).toEqual({ file, line: 4, field: 'id' });
      expect(err.message).toContain('id is not a UUID');
      expect(err.message).not.toContain('not-a-uuid');
    });

    it('a date that does not exist', async () => {
      const { err, file } = await rowError([intRow({ effectiveTime: '20250230' })]);
      expect(err.location).toEqual({ file, line: 2, field: 'effectiveTime' });
      expect(err.message).toContain('effectiveTime is not a real date');
      expect(err.message).not.toContain('20250230');
    });

    it('a bad active flag', async () => {
      const { err, file } = await rowError([intRow(), intRow({ active: 'true' })]);
      expect(err.location).toEqual({ file, line: 3, field: 'active' });
      expect(err.message).toContain('active is not 0 or 1');
    });

    it('a non-numeric mapGroup', async () => {
      const { err, file } = await rowError([intRow({ mapGroup: 'one' })]);
      expect(err.location).toEqual({ file, line: 2, field: 'mapGroup' });
      expect(err.message).toContain('mapGroup is not a non-negative integer');
    });

    it('a negative mapPriority, a bad UK mapBlock', async () => {
      expect((await rowError([intRow({ mapPriority: '-1' })])).err.location).toMatchObject({ line: 2, field: 'mapPriority' });
      expect((await rowError([ukRow(), ukRow({ mapBlock: '' })], UK_HEADER)).err.location).toMatchObject({ line: 3, field: 'mapBlock' });
    });

    it('SCTID columns that are not SCTIDs', async () => {
      expect((await rowError([intRow({ moduleId: '12345' })])).err.location).toMatchObject({ line: 2, field: 'moduleId' });
      expect((await rowError([intRow({ referencedComponentId: '' })])).err.location).toMatchObject({ line: 2, field: 'referencedComponentId' });
      expect((await rowError([intRow({ correlationId: 'x447561005' })])).err.location).toMatchObject({ line: 2, field: 'correlationId' });
      expect((await rowError([intRow({ mapCategoryId: '1234567890123456789' })])).err.location).toMatchObject({ line: 2, field: 'mapCategoryId' });
    });

    it('an unknown refset, with the known ones in the hint', async () => {
      const { err, file } = await rowError([intRow(), intRow({ refsetId: '123456789' })]);
      expect(err.code).toBe('terminology.rf2-refset');
      expect(err.location).toEqual({ file, line: 3, field: 'refsetId' });
      expect(err.message).not.toContain('123456789');
      expect(err.hint).toContain('447562003');
      expect(err.hint).toContain('999002271000000101');
      expect(err.hint).toContain('1382401000000109');
    });

    it('stops at the first bad row: the rows before it were yielded', async () => {
      const file = writeMap([INT_HEADER, intRow(), intRow(), intRow({ active: '2' })]);
      const map = await openRf2ExtendedMap(file);
      const seen: number[] = [];
      await expect(async () => {
        for await (const entry of map.entries()) seen.push(entry.line);
      }).rejects.toThrow(CarelakeError);
      expect(seen).toEqual([2, 3]);
    });
  });

  it('can be read twice, and stopping early is clean', async () => {
    const file = writeMap([INT_HEADER, intRow(), intRow(), intRow()]);
    const map = await openRf2ExtendedMap(file);
    for await (const entry of map.entries()) {
      expect(entry.line).toBe(2);
      break;
    }
    let count = 0;
    for await (const _ of map.entries()) count += 1;
    expect(count).toBe(3);
  });

  it('streams 300,000 rows with flat memory', async () => {
    const file = join(dir, 'large.txt');
    const fd = openSync(file, 'w');
    writeSync(fd, `${UK_HEADER}\r\n`);
    const total = 300_000;
    const chunk = 10_000;
    for (let start = 0; start < total; start += chunk) {
      const lines: string[] = [];
      for (let i = start; i < start + chunk; i += 1) {
        const hex = i.toString(16).padStart(12, '0');
        lines.push(ukRow({ id: `00000000-0000-4000-8000-${hex}`, referencedComponentId: String(100000 + i), mapTarget: `A${i % 100}X` }));
      }
      writeSync(fd, `${lines.join('\r\n')}\r\n`);
    }
    closeSync(fd);

    // A gc() to measure what is retained rather than what is yet to be collected.
    const gc = collector();
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let peak = 0;
    let count = 0;
    let lastLine = 0;
    const map = await openRf2ExtendedMap(file);
    for await (const entry of map.entries()) {
      count += 1;
      lastLine = entry.line;
      if (count % 50_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
      }
    }
    expect(count).toBe(total);
    expect(lastLine).toBe(total + 1);
    // Holding the 300,000 entries would take well over 100 MB; a streaming reader holds a few chunks.
    expect(peak).toBeLessThan(32 * 1024 * 1024);
  });
});

/** The global gc when node runs with --expose-gc; otherwise the same function, exposed at run time. */
function collector(): () => void {
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === 'function') return global;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
