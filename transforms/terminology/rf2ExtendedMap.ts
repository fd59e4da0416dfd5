// Reads a SNOMED CT RF2 extended map file (SNOMED → ICD-10 / OPCS-4; see specs/terminology.md) as
// MapEntry rows. The files are hundreds of thousands of tab-separated lines, so they are streamed line
// by line (node:readline over a read stream: RF2 never quotes, so no CSV parser is needed and a `"` in
// mapAdvice stays data) and memory stays flat. Two layouts, told apart by the header: International
// (13th column mapCategoryId) and UK Clinical Edition (13th column mapBlock).
//
// Every row is checked and a bad one throws a CarelakeError naming file, line and field — never the
// row's values. Every row is yielded, inactive and superseded ones included: snapshot resolution
// (latest effectiveTime per id, active only) is done later in SQL, where the whole file is visible.
// Blank lines are skipped but counted, so line numbers are those an editor shows.

import { Buffer } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
// The project's one "real yyyyMMdd date" check; RF2 effectiveTime is the same form as an ESR date.
import { isCompactDate } from '../../core/compactDate.ts';
import { CODE_SYSTEMS, type Equivalence, type MapEntry, type MapFile } from './mapEntry.ts';

export type Rf2Layout = 'international' | 'uk-clinical';

const COMMON_COLUMNS = [
  'id',
  'effectiveTime',
  'active',
  'moduleId',
  'refsetId',
  'referencedComponentId',
  'mapGroup',
  'mapPriority',
  'mapRule',
  'mapAdvice',
  'mapTarget',
  'correlationId',
] as const;

/** The header of each layout, column by column. */
export const RF2_COLUMNS: Readonly<Record<Rf2Layout, readonly string[]>> = {
  international: [...COMMON_COLUMNS, 'mapCategoryId'],
  'uk-clinical': [...COMMON_COLUMNS, 'mapBlock'],
};

const FIELD_COUNT = 13;

/** Extended map refsets carelake knows, and the code system of their targets. */
export const RF2_REFSET_TARGETS: Readonly<Record<string, string>> = {
  '447562003': CODE_SYSTEMS.icd10, // International: ICD-10 complex map
  '999002271000000101': CODE_SYSTEMS.icd10, // UK: ICD-10 5th Edition
  '1126441000000105': CODE_SYSTEMS.opcs4, // UK: OPCS-4.9
  '1382401000000109': CODE_SYSTEMS.opcs4, // UK: OPCS-4.10
  '999002741000000101': CODE_SYSTEMS.opcs4, // UK: OPCS-4 (earlier release)
  '6011000124106': 'http://hl7.org/fhir/sid/icd-10-cm', // US: ICD-10-CM
};

/** RF2 map correlation (how the target relates to the source concept) → FHIR equivalence. */
const CORRELATIONS: Readonly<Record<string, Equivalence>> = {
  '447557004': 'equivalent', // exact match
  '447558009': 'narrower', // broad to narrow: the source is broader, so the target is narrower
  '447559001': 'wider', // narrow to broad
  '447560006': 'inexact', // partial overlap
  '447561005': 'relatedto', // not specified — what the ICD-10 maps use throughout
  '447556008': 'unmatched', // not mappable
};

/** The layout a header line announces, or null when it is neither. Tolerates a BOM, CR and stray spaces. */
export function rf2Layout(headerLine: string): Rf2Layout | null {
  const names = headerLine.replace(/^\uFEFF/, '').replace(/\r$/, '').split('\t').map((name) => name.trim());
  for (const layout of ['international', 'uk-clinical'] as const) {
    const expected = RF2_COLUMNS[layout];
    if (names.length === expected.length && names.every((name, i) => name === expected[i])) return layout;
  }
  return null;
}

/** Opens an RF2 extended map: reads and checks the header now, streams the rows when entries() is iterated. */
export async function openRf2ExtendedMap(file: string): Promise<MapFile> {
  const layout = layoutOrThrow(await readFirstLine(file), file);
  return {
    format: 'rf2',
    file,
    facts: { layout },
    entries: () => readRf2Entries(file, layout),
  };
}

/**
 * The first line of a file, read from its first few KiB only (an RF2 header is ~150 bytes), so a huge
 * file with no line break is not pulled into memory. Null for an empty file.
 */
async function readFirstLine(file: string): Promise<string | null> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, 'r');
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead === 0) return null;
    return buffer.subarray(0, bytesRead).toString('utf8').split('\n', 1)[0] ?? '';
  } catch (err) {
    throw fileSystemError('read', file, err);
  } finally {
    await handle?.close();
  }
}

function layoutOrThrow(headerLine: string | null, file: string): Rf2Layout {
  const layout = headerLine === null ? null : rf2Layout(headerLine);
  if (layout !== null) return layout;
  throw headerError(file, headerLine === null ? 'the file is empty' : describeHeaderMismatch(headerLine));
}

function headerError(file: string, what: string): CarelakeError {
  return new CarelakeError({
    code: 'terminology.rf2-header',
    kind: 'parse',
    message: `Not an RF2 extended map file: ${what}`,
    location: { file, line: 1 },
    hint:
      `expected a tab-separated header, International: ${RF2_COLUMNS.international.join(' ')}; ` +
      `or UK Clinical Edition: ${RF2_COLUMNS['uk-clinical'].join(' ')}`,
  });
}

/** Says where a header departs from both layouts, by column number and expected name (not quoting the file). */
function describeHeaderMismatch(headerLine: string): string {
  const names = headerLine.replace(/^\uFEFF/, '').replace(/\r$/, '').split('\t').map((name) => name.trim());
  const common = COMMON_COLUMNS.findIndex((name, i) => names[i] !== name);
  if (common !== -1) return `header column ${common + 1} is not ${COMMON_COLUMNS[common]}`;
  if (names.length !== FIELD_COUNT) return `the header has ${names.length} tab-separated columns, expected ${FIELD_COUNT}`;
  return `header column ${FIELD_COUNT} is neither mapCategoryId (International) nor mapBlock (UK Clinical Edition)`;
}

async function* readRf2Entries(file: string, layout: Rf2Layout): AsyncGenerator<MapEntry> {
  const input = createReadStream(file, { encoding: 'utf8' });
  // crlfDelay: Infinity makes CRLF one line break however the chunks split it.
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      if (line === 1) {
        // Checked again: the file may have been replaced since it was opened.
        const now = rf2Layout(text);
        if (now !== layout) throw headerError(file, now === null ? describeHeaderMismatch(text) : `the header changed to the ${now} layout after the file was opened`);
        continue;
      }
      if (text === '') continue;
      yield rf2Entry(text.split('\t'), layout, file, line);
    }
  } catch (err) {
    if (err instanceof CarelakeError) throw err;
    throw fileSystemError('read', file, err);
  } finally {
    lines.close();
    input.destroy();
  }
}

interface FieldRule {
  check: (text: string) => boolean;
  /** Completes "<field> …" in the error message. */
  expected: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCTID = /^\d{6,18}$/;
// At most 15 digits, so Number() is exact; real groups, priorities and blocks are small.
const COUNT = /^\d{1,15}$/;

const IS_UUID: FieldRule = { check: (text) => UUID.test(text), expected: 'is not a UUID' };
const IS_DATE: FieldRule = { check: isCompactDate, expected: 'is not a real date in YYYYMMDD form' };
const IS_FLAG: FieldRule = { check: (text) => text === '0' || text === '1', expected: 'is not 0 or 1' };
const IS_SCTID: FieldRule = { check: (text) => SCTID.test(text), expected: 'is not an SCTID (6 to 18 digits)' };
const IS_COUNT: FieldRule = { check: (text) => COUNT.test(text), expected: 'is not a non-negative integer' };

/** Per layout and column, the rule its text must meet; null for free text (mapRule, mapAdvice, mapTarget). */
const FIELD_RULES: Readonly<Record<Rf2Layout, readonly (FieldRule | null)[]>> = {
  international: [IS_UUID, IS_DATE, IS_FLAG, IS_SCTID, IS_SCTID, IS_SCTID, IS_COUNT, IS_COUNT, null, null, null, IS_SCTID, IS_SCTID],
  'uk-clinical': [IS_UUID, IS_DATE, IS_FLAG, IS_SCTID, IS_SCTID, IS_SCTID, IS_COUNT, IS_COUNT, null, null, null, IS_SCTID, IS_COUNT],
};

function rowError(file: string, line: number, field: string | undefined, message: string): CarelakeError {
  return new CarelakeError({
    code: 'terminology.rf2-row',
    kind: 'parse',
    message: `Bad RF2 extended map row: ${message}`,
    location: field === undefined ? { file, line } : { file, line, field },
  });
}

/** One checked row as a MapEntry; throws naming the first bad field, in column order. */
function rf2Entry(fields: readonly string[], layout: Rf2Layout, file: string, line: number): MapEntry {
  if (fields.length !== FIELD_COUNT) {
    throw rowError(file, line, undefined, `the row has ${fields.length} tab-separated fields, expected ${FIELD_COUNT}`);
  }
  const rules = FIELD_RULES[layout];
  const names = RF2_COLUMNS[layout];
  for (let i = 0; i < FIELD_COUNT; i += 1) {
    const rule = rules[i];
    if (rule != null && !rule.check(fields[i]!)) throw rowError(file, line, names[i], `${names[i]} ${rule.expected}`);
  }
  const [id, effectiveTime, active, , refsetId, referencedComponentId, mapGroup, mapPriority, mapRule, mapAdvice, mapTarget, correlationId, last] =
    fields as [string, string, string, string, string, string, string, string, string, string, string, string, string];

  const targetSystem = RF2_REFSET_TARGETS[refsetId];
  if (targetSystem === undefined) {
    throw new CarelakeError({
      code: 'terminology.rf2-refset',
      kind: 'parse',
      message: 'Bad RF2 extended map row: refsetId is not an extended map refset carelake knows',
      location: { file, line, field: 'refsetId' },
      hint: `known refsets: ${Object.keys(RF2_REFSET_TARGETS).join(', ')}`,
    });
  }
  const target = rf2Target(mapTarget, correlationId);
  return {
    line,
    sourceSystem: CODE_SYSTEMS.snomed,
    sourceCode: referencedComponentId,
    sourceDisplay: null,
    targetSystem,
    targetCode: target.code,
    targetDisplay: null,
    equivalence: target.equivalence,
    comment: target.comment,
    active: active === '1',
    rowId: id,
    effectiveTime,
    refsetId,
    mapGroup: Number(mapGroup),
    mapPriority: Number(mapPriority),
    mapRule: mapRule === '' ? null : mapRule,
    mapAdvice: mapAdvice === '' ? null : mapAdvice,
    correlationId,
    mapCategoryId: layout === 'international' ? last : null,
    mapBlock: layout === 'uk-clinical' ? Number(last) : null,
  };
}

/**
 * The target code, equivalence and comment of a row. No target (empty, or `#NC`/`#NIS`: not
 * classifiable, kept as the comment) is unmatched. So is correlation 447556008 (not mappable): its
 * target, if one was sent anyway, is kept as the comment, so an unmatched entry never has a code.
 */
export function rf2Target(mapTarget: string, correlationId: string): { code: string | null; equivalence: Equivalence; comment: string | null } {
  const text = mapTarget.trim();
  if (text === '') return { code: null, equivalence: 'unmatched', comment: null };
  if (text.startsWith('#')) return { code: null, equivalence: 'unmatched', comment: text };
  const equivalence = CORRELATIONS[correlationId] ?? 'relatedto';
  if (equivalence === 'unmatched') return { code: null, equivalence, comment: text };
  return { code: text, equivalence, comment: null };
}
