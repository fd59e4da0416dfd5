// A SQL on FHIR v2 ViewDefinition, checked before anything is compiled: the zod schema says what each
// part may hold, then the structural rules the schema cannot say — one iteration kind per select,
// unique column names, unionAll branches with the same columns in the same order, known resource types,
// constants with exactly one primitive value. Every problem is reported with its JSON path in the view
// (`select[1].unionAll[0]`), all of them together. Incoming JSON stays `unknown` until it passes. Pure.

import { z } from 'zod';
import { CarelakeError } from '../../core/errors.ts';
import { isResourceType } from './fhirModel.ts';

export interface ViewColumn {
  name: string;
  path: string;
  collection?: boolean;
  type?: string;
  description?: string;
}

export interface ViewSelect {
  column?: ViewColumn[];
  select?: ViewSelect[];
  forEach?: string;
  forEachOrNull?: string;
  repeat?: string[];
  unionAll?: ViewSelect[];
}

/** A constant's FHIR type (from its `valueX` key) and its JSON value. */
export interface ViewConstant {
  name: string;
  type: string;
  value: string | number | boolean;
}

export interface ViewDefinition {
  name?: string;
  resource: string;
  constant: ViewConstant[];
  select: ViewSelect[];
  where: { path: string }[];
}

/** The primitive `valueX` types a constant may have, and the JSON type each must hold. */
export const CONSTANT_TYPES: Readonly<Record<string, 'string' | 'number' | 'integer' | 'boolean'>> = {
  base64Binary: 'string',
  boolean: 'boolean',
  canonical: 'string',
  code: 'string',
  date: 'string',
  dateTime: 'string',
  decimal: 'number',
  id: 'string',
  instant: 'string',
  integer: 'integer',
  integer64: 'integer',
  markdown: 'string',
  oid: 'string',
  positiveInt: 'integer',
  string: 'string',
  time: 'string',
  unsignedInt: 'integer',
  uri: 'string',
  url: 'string',
  uuid: 'string',
};

const COLUMN_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const fhirPath = z.string().min(1, 'must be a FHIRPath expression');

const columnSchema = z.strictObject({
  name: z.string().regex(COLUMN_NAME, 'must start with a letter and hold only letters, digits and _'),
  path: fhirPath,
  description: z.string().optional(),
  collection: z.boolean().optional(),
  type: z.string().optional(),
  tag: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
  id: z.string().optional(),
  extension: z.array(z.unknown()).optional(),
});

const selectSchema: z.ZodType<ViewSelect> = z.lazy(() =>
  z.strictObject({
    column: z.array(columnSchema).optional(),
    select: z.array(selectSchema).optional(),
    forEach: fhirPath.optional(),
    forEachOrNull: fhirPath.optional(),
    repeat: z.array(fhirPath).min(1).optional(),
    unionAll: z.array(selectSchema).min(1).optional(),
    id: z.string().optional(),
    extension: z.array(z.unknown()).optional(),
  }),
);

const viewSchema = z.looseObject({
  resourceType: z.literal('ViewDefinition').optional(),
  name: z.string().optional(),
  resource: z.string({ error: 'is required: the FHIR resource type the view reads' }).min(1),
  constant: z.array(z.looseObject({ name: z.string().regex(COLUMN_NAME, 'must start with a letter and hold only letters, digits and _') })).optional(),
  select: z.array(selectSchema, { error: 'is required: a list of selects' }).min(1, 'needs at least one select'),
  where: z.array(z.looseObject({ path: fhirPath, description: z.string().optional() })).optional(),
});

/** `select[1].unionAll[0]` from a zod or hand-built path. */
export function formatViewPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out === '' ? '' : '.'}${String(part)}`;
  return out;
}

export interface ViewProblem {
  path: string;
  message: string;
}

export function invalidViewError(problems: readonly ViewProblem[], file?: string): CarelakeError {
  const what = file ? `ViewDefinition ${file}` : 'ViewDefinition';
  const lines = problems.map((p) => `${p.path === '' ? 'the view' : p.path}: ${p.message}`);
  return new CarelakeError({
    code: 'sof.invalid_view',
    kind: 'compile',
    message: `${what} is invalid: ${lines.join('; ')}`,
    location: file ? { file, field: problems[0]?.path } : undefined,
    hint: 'fix the view; see https://build.fhir.org/ig/FHIR/sql-on-fhir-v2/StructureDefinition-ViewDefinition.html',
  });
}

/** Checks `input` and returns it typed, or throws one CarelakeError listing every problem. */
export function parseViewDefinition(input: unknown, file?: string): ViewDefinition {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidViewError([{ path: '', message: 'must be a JSON object' }], file);
  }
  const parsed = viewSchema.safeParse(input);
  if (!parsed.success) {
    throw invalidViewError(
      parsed.error.issues.map((issue) => ({ path: formatViewPath(issue.path), message: issue.message })),
      file,
    );
  }
  const problems: ViewProblem[] = [];
  const raw = parsed.data;
  if (!isResourceType(raw.resource)) problems.push({ path: 'resource', message: `'${raw.resource}' is not a FHIR R4 resource type` });
  const constant = (raw.constant ?? []).map((c, i) => parseConstant(c, `constant[${i}]`, problems));
  const names = new Set<string>();
  for (const [i, c] of constant.entries()) {
    if (c === null) continue;
    if (names.has(c.name)) problems.push({ path: `constant[${i}].name`, message: `constant '${c.name}' is defined twice` });
    names.add(c.name);
  }
  const columns = new Map<string, string>();
  raw.select.forEach((s, i) => checkSelect(s, `select[${i}]`, problems, columns));
  if (problems.length > 0) throw invalidViewError(problems, file);
  return {
    name: raw.name,
    resource: raw.resource,
    constant: constant.filter((c): c is ViewConstant => c !== null),
    select: raw.select,
    where: (raw.where ?? []).map((w) => ({ path: w.path })),
  };
}

function parseConstant(raw: Record<string, unknown> & { name: string }, path: string, problems: ViewProblem[]): ViewConstant | null {
  const valueKeys = Object.keys(raw).filter((k) => k.startsWith('value'));
  if (valueKeys.length !== 1) {
    problems.push({ path, message: valueKeys.length === 0 ? `constant '${raw.name}' has no value (valueString, valueInteger, …)` : `constant '${raw.name}' has several values` });
    return null;
  }
  const key = valueKeys[0]!;
  const type = key.charAt(5).toLowerCase() + key.slice(6);
  const expected = Object.hasOwn(CONSTANT_TYPES, type) ? CONSTANT_TYPES[type] : undefined;
  if (expected === undefined) {
    problems.push({ path: `${path}.${key}`, message: `constants of type ${type} are not supported (use a primitive type such as valueString or valueInteger)` });
    return null;
  }
  const value = raw[key];
  const ok =
    expected === 'integer' ? Number.isInteger(value) : expected === 'number' ? typeof value === 'number' && Number.isFinite(value) : typeof value === expected;
  if (!ok) {
    problems.push({ path: `${path}.${key}`, message: `must be a JSON ${expected === 'integer' ? 'integer' : expected}` });
    return null;
  }
  return { name: raw.name, type, value: value as string | number | boolean };
}

/** Column names a select contributes, in output order (its columns, nested selects, then unionAll). */
export function selectColumnNames(select: ViewSelect): string[] {
  return [
    ...(select.column ?? []).map((c) => c.name),
    ...(select.select ?? []).flatMap(selectColumnNames),
    ...(select.unionAll?.[0] ? selectColumnNames(select.unionAll[0]) : []),
  ];
}

function checkSelect(select: ViewSelect, path: string, problems: ViewProblem[], seen: Map<string, string>): void {
  const iterations = (['forEach', 'forEachOrNull', 'repeat'] as const).filter((k) => select[k] !== undefined);
  if (iterations.length > 1) problems.push({ path, message: `may have only one of forEach, forEachOrNull and repeat, not ${iterations.join(' and ')}` });
  if (!select.column?.length && !select.select?.length && !select.unionAll?.length) {
    problems.push({ path, message: 'needs at least one column, select or unionAll' });
  }
  for (const [i, column] of (select.column ?? []).entries()) {
    const where = `${path}.column[${i}]`;
    const earlier = seen.get(column.name);
    if (earlier !== undefined) problems.push({ path: where, message: `column name '${column.name}' is already used at ${earlier}` });
    else seen.set(column.name, where);
  }
  for (const [i, nested] of (select.select ?? []).entries()) checkSelect(nested, `${path}.select[${i}]`, problems, seen);
  if (select.unionAll) {
    const first = selectColumnNames(select.unionAll[0]!);
    for (const [i, branch] of select.unionAll.entries()) {
      const branchPath = `${path}.unionAll[${i}]`;
      // Branches share their column names; each is checked against the names outside the union only.
      checkSelect(branch, branchPath, problems, i === 0 ? seen : new Map([...seen].filter(([name]) => !first.includes(name))));
      const names = selectColumnNames(branch);
      if (i > 0 && names.join(',') !== first.join(',')) {
        problems.push({ path: branchPath, message: `unionAll branches must have the same columns in the same order: [${first.join(', ')}] vs [${names.join(', ')}]` });
      }
    }
  }
}
