// Decides what one export job contains: which lines of which types (level, `_type`, `_since`/`_until`,
// compartment, deletions), subset by `_elements`, damaged by `corruptLines`, cut into files by
// `splitFilesAt`, plus the error and deleted files. Pure: returns file plans; the job names and serves them.
//
// Rules a client author may rely on:
// - A line whose `meta.lastUpdated` is unknown matches every `_since`/`_until` (a server that cannot
//   tell whether something changed must not hide it from an incremental run).
// - A resource listed in `BulkServerData.deleted` never appears in output; it is listed in deleted[]
//   only for a `_since` export (filtered by `_type`, not by compartment: a deletion has no content).
// - `_elements` keeps resourceType, id and meta plus the listed root elements and tags the resource
//   SUBSETTED; types no `_elements` entry applies to are served whole.
// - Empty types get no file; output order follows the data's type order.

import { operationOutcome, type OperationOutcome } from './operationOutcome.ts';
import type { ExportRequest } from './kickoffRequest.ts';
import type { CatalogueEntry, ResourceCatalogue } from './resourceCatalogue.ts';

export interface JobShape {
  errorFiles: boolean;
  deletedWithSince: boolean;
  splitFilesAt: number | null;
  corruptLines: readonly { type: string; line: number; text: string }[];
}

export interface FilePlan {
  kind: 'output' | 'error' | 'deleted';
  /** The manifest entry's type: the resource type, 'OperationOutcome' or 'Bundle'. */
  type: string;
  lines: readonly string[];
}

export const SUBSETTED_TAG = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' } as const;

function inCompartment(type: string, entry: CatalogueEntry, request: ExportRequest): boolean {
  const scope = request.compartment;
  if (scope === null) return true;
  const owner = type === 'Patient' ? entry.id : entry.patientId;
  if (owner === null) return false;
  return scope.kind === 'all-patients' || scope.ids.has(owner);
}

function inWindow(entry: CatalogueEntry, request: ExportRequest, transactionMs: number): boolean {
  const at = entry.lastUpdatedMs;
  if (at === null) return true;
  if (at > transactionMs) return false;
  if (request.sinceMs !== null && at <= request.sinceMs) return false;
  return request.untilMs === null || at <= request.untilMs;
}

function subset(line: string, keep: ReadonlySet<string>): string {
  let resource: unknown;
  try {
    resource = JSON.parse(line);
  } catch {
    return line;
  }
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) return line;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType' || key === 'id' || key === 'meta' || keep.has(key)) out[key] = value;
  }
  const meta = out['meta'] !== null && typeof out['meta'] === 'object' && !Array.isArray(out['meta']) ? (out['meta'] as Record<string, unknown>) : {};
  const tags = Array.isArray(meta['tag']) ? (meta['tag'] as unknown[]) : [];
  out['meta'] = { ...meta, tag: [...tags, { ...SUBSETTED_TAG }] };
  return JSON.stringify(out);
}

function elementsFor(type: string, request: ExportRequest): Set<string> | null {
  if (request.elements === null) return null;
  const keep = request.elements.filter((e) => e.type === null || e.type === type).map((e) => e.element);
  return keep.length === 0 ? null : new Set(keep);
}

function chunks(lines: readonly string[], size: number | null): string[][] {
  if (size === null || lines.length <= size) return [[...lines]];
  const out: string[][] = [];
  for (let i = 0; i < lines.length; i += size) out.push(lines.slice(i, i + size));
  return out;
}

function outcomeLine(outcome: OperationOutcome): string {
  return JSON.stringify(outcome);
}

export function selectExport(catalogue: ResourceCatalogue, request: ExportRequest, shape: JobShape, transactionMs: number): FilePlan[] {
  const plans: FilePlan[] = [];
  for (const [type, entries] of catalogue.entries) {
    if (request.types !== null && !request.types.has(type)) continue;
    const keep = elementsFor(type, request);
    const lines = entries
      .filter((entry) => !catalogue.isDeleted(type, entry.id) && inCompartment(type, entry, request) && inWindow(entry, request, transactionMs))
      .map((entry) => (keep === null ? entry.line : subset(entry.line, keep)));
    for (const corrupt of shape.corruptLines) {
      if (corrupt.type === type && corrupt.line <= lines.length) lines[corrupt.line - 1] = corrupt.text;
    }
    if (lines.length === 0) continue;
    for (const part of chunks(lines, shape.splitFilesAt)) plans.push({ kind: 'output', type, lines: part });
  }

  if (shape.deletedWithSince && request.sinceMs !== null) {
    const byType = new Map<string, string[]>();
    for (const { type, id } of catalogue.deleted) {
      if (request.types !== null && !request.types.has(type)) continue;
      const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `${type}/${id}` } }] };
      byType.set(type, [...(byType.get(type) ?? []), JSON.stringify(bundle)]);
    }
    for (const lines of byType.values()) plans.push({ kind: 'deleted', type: 'Bundle', lines });
  }

  const errors: string[] = request.ignored.map((note) => outcomeLine(operationOutcome('warning', 'not-supported', note)));
  if (shape.errorFiles) {
    errors.push(outcomeLine(operationOutcome('error', 'processing', 'Some resources could not be exported (simulated by the errorFiles behaviour).')));
  }
  if (errors.length > 0) plans.push({ kind: 'error', type: 'OperationOutcome', lines: errors });
  return plans;
}
