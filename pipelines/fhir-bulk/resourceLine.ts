// One NDJSON line of a Bulk Data file, checked: valid JSON, a resource of the declared type, with an
// id. Pure, so the file connector and the HTTP client (which streams the same lines) share it.

import type { RawDatasetSchema } from '../landing/rawDataset.ts';

export type ResourceLineResult =
  | { ok: true; id: string; resourceType: string; lastUpdated: string | null }
  | { ok: false; field: string | null; reason: string };

export function checkResourceLine(text: string, declaredType: string): ResourceLineResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, field: null, reason: `not valid JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, field: null, reason: 'not a JSON object' };
  }
  const resource = value as Record<string, unknown>;
  if (resource.resourceType !== declaredType) {
    const got = typeof resource.resourceType === 'string' ? `'${resource.resourceType}'` : 'nothing';
    return { ok: false, field: 'resourceType', reason: `expected resourceType '${declaredType}', got ${got}` };
  }
  if (typeof resource.id !== 'string' || resource.id === '') {
    return { ok: false, field: 'id', reason: 'a resource in a Bulk Data file must have an id' };
  }
  const meta = resource.meta as { lastUpdated?: unknown } | undefined;
  return { ok: true, id: resource.id, resourceType: declaredType, lastUpdated: typeof meta?.lastUpdated === 'string' ? meta.lastUpdated : null };
}

/** One raw dataset per resource type; `resource` is the line exactly as received. */
export function fhirResourceDataset(resourceType: string): RawDatasetSchema {
  return {
    dataset: resourceType,
    columns: [
      { name: 'id', type: 'VARCHAR' },
      { name: 'resource_type', type: 'VARCHAR' },
      { name: 'last_updated', type: 'VARCHAR' },
    ],
    originalTextColumn: 'resource',
  };
}
