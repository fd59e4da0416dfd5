// Reads a FHIR ConceptMap (R4; R5's `relationship` is accepted too) as MapEntry rows: how local code
// lists often arrive (specs/terminology.md). A Bundle of ConceptMaps is read map after map. The whole
// JSON is read with JSON.parse: ConceptMaps for local code lists are small, and JSON cannot be checked
// without reading it all anyway. The document is checked (zod, then the rules zod cannot say) when the
// file is opened, so a bad map fails before any entry is stored; problems name their JSON path
// (`group[0].element[2].target[1].equivalence`), never values.
//
// `line` of an entry is a running 1-based element index over the whole file (all groups, all maps of a
// Bundle, in document order); an element's targets share it. `group.unmapped` (what to do with codes
// the map does not list) is not read: carelake keeps and counts unmapped codes itself.

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { EQUIVALENCES, NOT_RF2, canonicalSystem, type Equivalence, type MapEntry, type MapFile } from './mapEntry.ts';

/** R5 ConceptMapRelationship → the R4 equivalence it corresponds to (R4 says how the target relates to the source). */
const RELATIONSHIPS: Readonly<Record<string, Equivalence>> = {
  equivalent: 'equivalent',
  'source-is-narrower-than-target': 'wider',
  'source-is-broader-than-target': 'narrower',
  'related-to': 'relatedto',
  'not-related-to': 'disjoint',
};

const requiredText = z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') }).trim().min(1, 'must not be empty');
const optionalText = z.string({ error: 'must be a string' }).optional();

const targetSchema = z.looseObject({
  code: optionalText,
  display: optionalText,
  equivalence: z.enum(EQUIVALENCES, { error: `must be one of ${EQUIVALENCES.join(', ')}` }).optional(),
  relationship: z
    .enum(Object.keys(RELATIONSHIPS) as [string, ...string[]], { error: `must be one of ${Object.keys(RELATIONSHIPS).join(', ')}` })
    .optional(),
  comment: optionalText,
});

const elementSchema = z.looseObject({
  code: requiredText,
  display: optionalText,
  target: z.array(targetSchema, { error: 'must be an array' }).optional(),
});

const groupSchema = z.looseObject({
  source: requiredText,
  target: requiredText,
  element: z.array(elementSchema, { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an array') }),
});

const conceptMapSchema = z.looseObject({
  resourceType: z.literal('ConceptMap'),
  url: optionalText,
  version: optionalText,
  name: optionalText,
  group: z.array(groupSchema, { error: 'must be an array' }).optional(),
});

type ConceptMap = z.infer<typeof conceptMapSchema>;
type Target = z.infer<typeof targetSchema>;

/** Opens a ConceptMap or a Bundle of them: reads and checks the whole file now; entries() walks it. */
export async function openConceptMap(file: string): Promise<MapFile> {
  const maps = conceptMapsIn(await readJson(file), file);
  return {
    format: 'conceptmap',
    file,
    facts: conceptMapFacts(maps),
    entries: () => conceptMapEntries(maps),
  };
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw fileSystemError('read', file, err);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    // JSON.parse's message quotes the text around the error; not repeated here.
    throw new CarelakeError({
      code: 'terminology.conceptmap-json',
      kind: 'parse',
      message: 'The ConceptMap file is not valid JSON',
      location: { file },
      hint: 'check it with a JSON validator',
      cause: err,
    });
  }
}

function invalid(file: string, path: string, message: string): CarelakeError {
  return new CarelakeError({
    code: 'terminology.conceptmap-invalid',
    kind: 'parse',
    message: `Invalid ConceptMap: ${path === '' ? 'the document' : path} ${message}`,
    location: path === '' ? { file } : { file, field: path },
    hint: 'see https://hl7.org/fhir/R4/conceptmap.html',
  });
}

/** `group[0].element[2]` from a zod path, after a prefix such as `entry[1].resource.`. */
function jsonPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out === '' || out.endsWith('.') ? '' : '.'}${String(part)}`;
  return out.replace(/\.$/, '');
}

/** The ConceptMaps in a parsed document: itself, or the ConceptMap resources of a Bundle (others are skipped). */
function conceptMapsIn(json: unknown, file: string): ConceptMap[] {
  const resourceType = typeof json === 'object' && json !== null && !Array.isArray(json) && 'resourceType' in json ? json.resourceType : undefined;
  if (resourceType === 'ConceptMap') return [checkConceptMap(json, '', file)];
  if (resourceType === 'Bundle') {
    const entries = (json as { entry?: unknown }).entry ?? [];
    if (!Array.isArray(entries)) throw invalid(file, 'entry', 'must be an array');
    const maps = entries.flatMap((entry: unknown, i) => {
      const resource = typeof entry === 'object' && entry !== null && 'resource' in entry ? entry.resource : undefined;
      const isMap = typeof resource === 'object' && resource !== null && 'resourceType' in resource && resource.resourceType === 'ConceptMap';
      return isMap ? [checkConceptMap(resource, `entry[${i}].resource.`, file)] : [];
    });
    if (maps.length === 0) throw invalid(file, '', 'is a Bundle with no ConceptMap resources');
    return maps;
  }
  const what = typeof resourceType === 'string' && /^[A-Za-z]{1,64}$/.test(resourceType) ? `is a ${resourceType}` : 'has no FHIR resourceType';
  throw invalid(file, '', `${what}, not a ConceptMap or a Bundle of ConceptMaps`);
}

/**
 * The schema, then what it cannot say: each target has an equivalence or a relationship. `prefix` is
 * where the map sits: '' for a bare ConceptMap, `entry[2].resource.` in a Bundle.
 */
function checkConceptMap(json: unknown, prefix: string, file: string): ConceptMap {
  const parsed = conceptMapSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const more = parsed.error.issues.length - 1;
    throw invalid(file, jsonPath(prefix, issue.path), `${issue.message}${more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : ''}`);
  }
  for (const [g, group] of (parsed.data.group ?? []).entries()) {
    for (const [e, element] of group.element.entries()) {
      for (const [t, target] of (element.target ?? []).entries()) {
        if (target.equivalence === undefined && target.relationship === undefined) {
          throw invalid(file, jsonPath(prefix, ['group', g, 'element', e, 'target', t, 'equivalence']), 'is required (or an R5 relationship)');
        }
      }
    }
  }
  return parsed.data;
}

/** url, version and name of the map; for a Bundle of several, each distinct value, comma-separated. */
function conceptMapFacts(maps: readonly ConceptMap[]): Record<string, string | null> {
  const fact = (key: 'url' | 'version' | 'name'): string | null => {
    const values = [...new Set(maps.map((map) => map[key]).filter((value): value is string => value !== undefined && value !== ''))];
    return values.length === 0 ? null : values.join(', ');
  };
  return { url: fact('url'), version: fact('version'), name: fact('name') };
}

/** A canonical's version suffix (`…|2.1`, allowed in R5 group.source) is not part of the system. */
function systemOf(canonical: string): string {
  return canonicalSystem(canonical.split('|', 1)[0]!);
}

async function* conceptMapEntries(maps: readonly ConceptMap[]): AsyncGenerator<MapEntry> {
  let line = 0;
  for (const map of maps) {
    for (const group of map.group ?? []) {
      const sourceSystem = systemOf(group.source);
      const targetSystem = systemOf(group.target);
      for (const element of group.element) {
        line += 1;
        const source = { line, sourceSystem, sourceCode: element.code, sourceDisplay: element.display ?? null, targetSystem };
        const targets = element.target ?? [];
        if (targets.length === 0) yield entry(source, null, null, 'unmatched', null);
        for (const target of targets) yield targetEntry(source, target);
      }
    }
  }
}

type SourcePart = Pick<MapEntry, 'line' | 'sourceSystem' | 'sourceCode' | 'sourceDisplay' | 'targetSystem'>;

/** A target with no code, or marked unmatched, is an unmatched entry with no target code. */
function targetEntry(source: SourcePart, target: Target): MapEntry {
  // checkConceptMap made sure one of the two is present.
  const equivalence = target.equivalence ?? RELATIONSHIPS[target.relationship!]!;
  const code = target.code?.trim() ?? '';
  const comment = target.comment ?? null;
  if (code === '' || equivalence === 'unmatched') return entry(source, null, null, 'unmatched', comment);
  return entry(source, code, target.display ?? null, equivalence, comment);
}

function entry(source: SourcePart, targetCode: string | null, targetDisplay: string | null, equivalence: Equivalence, comment: string | null): MapEntry {
  return {
    ...source,
    targetCode,
    targetDisplay,
    equivalence,
    comment,
    ...NOT_RF2,
  };
}
