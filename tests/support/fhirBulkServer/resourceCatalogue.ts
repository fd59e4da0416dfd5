// An index over the served data, built once per server: each line's id, `meta.lastUpdated` and the
// Patient whose compartment it belongs to, plus Group memberships. Export selection asks this index
// instead of re-parsing JSON per request. Pure: no I/O, no clock.
//
// Patient compartment (a simplification of the FHIR CompartmentDefinition): a Patient belongs to its own
// compartment; any other resource belongs to the Patient its `subject` or `patient` reference points at,
// written `Patient/<id>` (relative or absolute, `_history` allowed) or `urn:uuid:<id>` naming a Patient
// in the data. Resources with neither are not in any compartment (Organization, Practitioner, …).

import type { BulkServerData } from './types.ts';
import { parseInstant } from './fhirInstant.ts';

export interface CatalogueEntry {
  line: string;
  id: string | null;
  /** Null when the line has no parseable `meta.lastUpdated` (such lines match every `_since`/`_until`). */
  lastUpdatedMs: number | null;
  /** The compartment's Patient id, or null. */
  patientId: string | null;
}

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : null;
}

function parseLine(line: string): Json | null {
  try {
    return asObject(JSON.parse(line));
  } catch {
    return null;
  }
}

function defaultLastUpdated(resource: Json | null): string | null {
  const meta = asObject(resource?.['meta']);
  const value = meta?.['lastUpdated'];
  return typeof value === 'string' ? value : null;
}

const PATIENT_REFERENCE = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const UUID_REFERENCE = /^urn:uuid:([A-Za-z0-9\-.]{1,64})$/;

/** The Patient id a Reference points at, or null. */
export function patientIdOf(reference: unknown, knownPatients: ReadonlySet<string>): string | null {
  const ref = asObject(reference)?.['reference'];
  if (typeof ref !== 'string') return null;
  const typed = PATIENT_REFERENCE.exec(ref);
  if (typed?.[1] !== undefined) return typed[1];
  const uuid = UUID_REFERENCE.exec(ref);
  return uuid?.[1] !== undefined && knownPatients.has(uuid[1]) ? uuid[1] : null;
}

export class ResourceCatalogue {
  private constructor(
    /** Resource type → entries, in the data's order. */
    readonly entries: ReadonlyMap<string, readonly CatalogueEntry[]>,
    readonly patientIds: ReadonlySet<string>,
    /** Group id → active members that resolve to a Patient in the data. */
    readonly groups: ReadonlyMap<string, ReadonlySet<string>>,
    /** `type/id` keys of deleted resources. */
    private readonly deletedKeys: ReadonlySet<string>,
    readonly deleted: readonly { type: string; id: string }[],
    /** The newest `meta.lastUpdated` in the data, or null. */
    readonly newestLastUpdatedMs: number | null,
  ) {}

  static build(data: BulkServerData): ResourceCatalogue {
    const parsed = new Map<string, { line: string; resource: Json | null }[]>();
    const patientIds = new Set<string>();
    for (const [type, lines] of data.resources) {
      const rows = lines.map((line) => ({ line, resource: parseLine(line) }));
      parsed.set(type, rows);
      for (const { resource } of rows) {
        const id = resource?.['id'];
        if (resource?.['resourceType'] === 'Patient' && typeof id === 'string') patientIds.add(id);
      }
    }

    const entries = new Map<string, CatalogueEntry[]>();
    const groups = new Map<string, Set<string>>();
    let newest: number | null = null;
    for (const [type, rows] of parsed) {
      entries.set(
        type,
        rows.map(({ line, resource }) => {
          const rawId = resource?.['id'];
          const id = typeof rawId === 'string' ? rawId : null;
          const stamp = data.lastUpdated ? data.lastUpdated(line) : defaultLastUpdated(resource);
          const lastUpdatedMs = stamp === null ? null : parseInstant(stamp);
          if (lastUpdatedMs !== null && (newest === null || lastUpdatedMs > newest)) newest = lastUpdatedMs;
          const patientId =
            resource?.['resourceType'] === 'Patient' ? id : (patientIdOf(resource?.['subject'], patientIds) ?? patientIdOf(resource?.['patient'], patientIds));
          if (resource?.['resourceType'] === 'Group' && id !== null) groups.set(id, groupMembers(resource, patientIds));
          return { line, id, lastUpdatedMs, patientId };
        }),
      );
    }
    const deleted = [...(data.deleted ?? [])];
    return new ResourceCatalogue(entries, patientIds, groups, new Set(deleted.map((d) => `${d.type}/${d.id}`)), deleted, newest);
  }

  isDeleted(type: string, id: string | null): boolean {
    return id !== null && this.deletedKeys.has(`${type}/${id}`);
  }

  hasType(type: string): boolean {
    return this.entries.has(type);
  }
}

function groupMembers(group: Json, patientIds: ReadonlySet<string>): Set<string> {
  const members = new Set<string>();
  const list = group['member'];
  if (!Array.isArray(list)) return members;
  for (const item of list) {
    const member = asObject(item);
    if (member === null || member['inactive'] === true) continue;
    const id = patientIdOf(member['entity'], patientIds);
    if (id !== null && patientIds.has(id)) members.add(id);
  }
  return members;
}
