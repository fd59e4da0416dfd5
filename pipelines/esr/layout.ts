// The column layout of an ESR GO file: for each record type, which dataset it feeds, whether it upserts
// or deletes, and its column names in file order. It is data, not code, because the official interface
// specification is not public and each Trust must be able to correct a column list without a release.
// Layouts arrive as untrusted JSON and are validated here; every problem is reported at once, each
// named by its key (`recordTypes.PRA.columns[3]`).

import { z } from 'zod';
import { CarelakeError } from '../../core/errors.ts';
import esrGoV1Json from './layouts/esr-go-v1.json' with { type: 'json' };

export const ESR_DATASETS = [
  'person',
  'assignment',
  'position',
  'organisation',
  'costing',
  'location',
  'phone',
  'address',
  'vehicle',
] as const;
export type EsrDataset = (typeof ESR_DATASETS)[number];
export type EsrAction = 'upsert' | 'delete';

/** Record types the reader handles itself; a layout may not redefine them. */
const RESERVED_RECORD_TYPES = new Set(['HDR', 'TRL']);

// Checked in the layout's refinement rather than here, so one bad name does not hide other problems.
const SNAKE_CASE = /^[a-z][a-z0-9_]*$/;

/** How a field's text is read: validated by the reader, typed on landing. */
export const ESR_FIELD_TYPES = ['text', 'date', 'timestamp', 'number', 'subfields'] as const;
export type EsrFieldType = (typeof ESR_FIELD_TYPES)[number];

/** A column is a bare name (text) or `{ name, type }`; both become `{ name, type }`. */
const columnSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { name: value } : value),
  z.strictObject({ name: z.string(), type: z.enum(ESR_FIELD_TYPES).default('text') }),
);

const recordLayoutSchema = z.strictObject({
  dataset: z.enum(ESR_DATASETS),
  action: z.enum(['upsert', 'delete']),
  columns: z.array(columnSchema).min(1, 'a record type needs at least one column'),
  /** True when the column list is our assumption rather than taken from the specification. */
  assumed: z.boolean().default(false),
  note: z.string().optional(),
});

const layoutSchema = z
  .strictObject({
    id: z.string().min(1),
    description: z.string().optional(),
    recordTypes: z.record(
      z.string().regex(/^[A-Z]{2}[AD]$/, 'record types are 3 capital letters ending in A (add/update) or D (delete)'),
      recordLayoutSchema,
    ),
  })
  .superRefine((layout, ctx) => {
    for (const [recordType, record] of Object.entries(layout.recordTypes)) {
      const path = ['recordTypes', recordType];
      if (RESERVED_RECORD_TYPES.has(recordType)) {
        ctx.addIssue({ code: 'custom', path, message: `${recordType} is read by the file reader and cannot be redefined` });
      }
      const expected: EsrAction = recordType.endsWith('D') ? 'delete' : 'upsert';
      if (record.action !== expected) {
        ctx.addIssue({ code: 'custom', path: [...path, 'action'], message: `${recordType} ends in ${recordType.slice(2)}, so its action must be '${expected}'` });
      }
      if (record.action === 'delete' && record.columns.length !== 1) {
        ctx.addIssue({ code: 'custom', path: [...path, 'columns'], message: `delete records carry exactly one field (the id), not ${record.columns.length}` });
      }
      const seen = new Set<string>();
      record.columns.forEach(({ name }, index) => {
        if (!SNAKE_CASE.test(name)) {
          ctx.addIssue({ code: 'custom', path: [...path, 'columns', index], message: 'column names must be snake_case: a lower-case letter, then letters, digits or _' });
        }
        if (seen.has(name)) {
          ctx.addIssue({ code: 'custom', path: [...path, 'columns', index], message: `column '${name}' appears twice; name spare fields spare_1, spare_2, …` });
        }
        seen.add(name);
      });
    }
  });

export type EsrLayout = z.output<typeof layoutSchema>;
export type EsrRecordLayout = z.output<typeof recordLayoutSchema>;
export type EsrColumn = EsrRecordLayout['columns'][number];

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '');
}

/** Validates a layout read from `origin` (a path or label used in error messages). */
export function parseEsrLayout(json: unknown, origin: string): EsrLayout {
  const result = layoutSchema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`);
  throw new CarelakeError({
    code: 'esr.bad-layout',
    kind: 'config',
    message: `ESR layout ${origin} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    location: { file: origin, ...(problems.length > 0 ? { field: formatPath(result.error.issues[0]?.path ?? []) } : {}) },
    hint: 'fix the layout file; see pipelines/esr/layouts/esr-go-v1.json for the expected shape',
  });
}

let defaultLayout: EsrLayout | undefined;

/** The built-in layout (pipelines/esr/layouts/esr-go-v1.json), validated once. */
export function esrGoV1Layout(): EsrLayout {
  defaultLayout ??= parseEsrLayout(esrGoV1Json, 'pipelines/esr/layouts/esr-go-v1.json');
  return defaultLayout;
}
