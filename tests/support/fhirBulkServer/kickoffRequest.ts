// Turns a Bulk Data kick-off request (headers plus query string, or a POST `Parameters` body) into a
// validated `ExportRequest`, or a `BulkProblem` the server answers with an OperationOutcome. Pure: the
// caller reads the body and passes its bytes. Follows Bulk Data IG 2.0.0 (STU2) with the STU3 additions
// `_until` and `allowPartialManifests`.
//
// Unsupported parameters (`_typeFilter`, `organizeOutputBy`, custom `includeAssociatedData` values,
// anything unknown) answer 400 `not-supported` — as the IG asks of a server that cannot honour a
// parameter — unless the client sent `Prefer: handling=lenient`; then they are ignored and each is
// reported as an OperationOutcome (severity warning) in the manifest's error[]. So `_typeFilter` is never
// applied: a client that needs it must filter again itself.

import { z } from 'zod';
import { FHIR_R4_RESOURCE_TYPES } from './fhirResourceTypes.ts';
import { parseInstant } from './fhirInstant.ts';
import { BulkProblem } from './operationOutcome.ts';
import type { ResourceCatalogue } from './resourceCatalogue.ts';

export type ExportLevel = 'system' | 'patient' | 'group';

/** Which Patients' compartments an export covers; null for a system-level export (everything). */
export type CompartmentScope = { kind: 'all-patients' } | { kind: 'members'; ids: ReadonlySet<string> } | null;

export interface ExportRequest {
  level: ExportLevel;
  groupId: string | null;
  /** The kick-off URL for the manifest's `request` (a POST's parameters are in its body, not here). */
  kickoffUrl: string;
  /** Every parameter as received, repeated values joined with ','. */
  params: Record<string, string>;
  sinceMs: number | null;
  untilMs: number | null;
  types: ReadonlySet<string> | null;
  elements: { type: string | null; element: string }[] | null;
  compartment: CompartmentScope;
  allowPartialManifests: boolean;
  /** What a lenient request asked for and this server ignored, one sentence each. */
  ignored: string[];
}

export interface KickoffInput {
  method: 'GET' | 'POST';
  level: ExportLevel;
  groupId: string | null;
  url: URL;
  accept: string | undefined;
  prefer: string | undefined;
  contentType: string | undefined;
  body: Buffer | null;
}

export const NDJSON_FORMATS: ReadonlySet<string> = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const ASSOCIATED_DATA: ReadonlySet<string> = new Set(['LatestProvenanceResources', 'RelevantProvenanceResources']);
const SUPPORTED = new Set(['_outputFormat', '_since', '_until', '_type', '_elements', 'includeAssociatedData', 'allowPartialManifests', 'patient']);
const SINGLE_VALUED = new Set(['_outputFormat', '_since', '_until', 'allowPartialManifests']);
const ELEMENT = /^(?:([A-Z][A-Za-z]+)\.)?([a-z][A-Za-z0-9]*)$/;
const PATIENT_REF = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

const parameterSchema = z
  .object({
    name: z.string().min(1),
    valueString: z.string().optional(),
    valueInstant: z.string().optional(),
    valueDateTime: z.string().optional(),
    valueCode: z.string().optional(),
    valueUri: z.string().optional(),
    valueBoolean: z.boolean().optional(),
    valueReference: z.object({ reference: z.string().min(1) }).loose().optional(),
  })
  .loose();
const parametersSchema = z.object({ resourceType: z.literal('Parameters'), parameter: z.array(parameterSchema).optional() }).loose();

/** Media types in an Accept or Content-Type header, lower-cased, parameters dropped. */
export function mediaTypes(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(',')
    .map((part) => part.split(';')[0]?.trim().toLowerCase() ?? '')
    .filter((type) => type !== '');
}

/** The tokens of one or more Prefer headers, e.g. `respond-async`, `handling=lenient`. */
export function preferTokens(header: string | undefined): Set<string> {
  return new Set((header ?? '').split(',').map((token) => token.trim().toLowerCase().replace(/\s*=\s*/, '=')).filter((t) => t !== ''));
}

function parametersFromBody(input: KickoffInput): Map<string, string[]> {
  if (!mediaTypes(input.contentType).some((t) => t === 'application/fhir+json' || t === 'application/json')) {
    throw new BulkProblem('unsupported-media-type', 'A POST kick-off needs a FHIR Parameters body with Content-Type: application/fhir+json.');
  }
  if ([...input.url.searchParams.keys()].length > 0) {
    throw new BulkProblem('bad-request', 'A POST kick-off takes its parameters in the Parameters body only; remove the query string.');
  }
  let json: unknown;
  try {
    json = JSON.parse((input.body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    throw new BulkProblem('bad-request', 'The POST body is not JSON; send a FHIR Parameters resource.');
  }
  const parsed = parametersSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new BulkProblem('bad-request', `The POST body is not a valid FHIR Parameters resource (${first ? `${first.path.join('.') || 'resourceType'}: ${first.message}` : 'invalid'}).`);
  }
  const raw = new Map<string, string[]>();
  for (const [index, p] of (parsed.data.parameter ?? []).entries()) {
    const values = [p.valueString, p.valueInstant, p.valueDateTime, p.valueCode, p.valueUri, p.valueBoolean === undefined ? undefined : String(p.valueBoolean), p.valueReference?.reference].filter(
      (v): v is string => v !== undefined,
    );
    if (values.length !== 1 || values[0] === undefined) {
      throw new BulkProblem('bad-request', `Parameters.parameter[${index}] ('${p.name}') must carry exactly one value[x].`);
    }
    if (p.name === 'patient' && p.valueReference === undefined) {
      throw new BulkProblem('bad-request', `Parameters.parameter[${index}] ('patient') must be a valueReference.`);
    }
    raw.set(p.name, [...(raw.get(p.name) ?? []), values[0]]);
  }
  return raw;
}

function parametersFromQuery(url: URL): Map<string, string[]> {
  const raw = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) raw.set(name, [...(raw.get(name) ?? []), value]);
  return raw;
}

function commaList(values: readonly string[], name: string): string[] {
  const items = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  if (items.some((v) => v === '')) throw new BulkProblem('bad-request', `${name} has an empty entry; send a comma-separated list without blanks.`);
  return items;
}

function instantParam(raw: Map<string, string[]>, name: string): number | null {
  const value = raw.get(name)?.[0];
  if (value === undefined) return null;
  const ms = parseInstant(value);
  if (ms === null) {
    const plus = value.includes(' ') ? " (a '+' in a query string must be sent as %2B)" : '';
    throw new BulkProblem('bad-request', `${name} must be a FHIR instant with seconds and a time zone, e.g. 2024-01-01T00:00:00Z${plus}.`);
  }
  return ms;
}

export function parseKickoff(input: KickoffInput, catalogue: ResourceCatalogue): ExportRequest {
  if (!mediaTypes(input.accept).includes('application/fhir+json')) {
    throw new BulkProblem('bad-request', 'A Bulk Data kick-off needs the header Accept: application/fhir+json.');
  }
  const prefer = preferTokens(input.prefer);
  if (!prefer.has('respond-async')) {
    throw new BulkProblem('bad-request', 'A Bulk Data kick-off needs the header Prefer: respond-async.');
  }
  const lenient = prefer.has('handling=lenient');
  const ignored: string[] = [];
  const unsupported = (what: string): void => {
    if (!lenient) throw new BulkProblem('unsupported-parameter', `${what}; resubmit without it, or send Prefer: handling=lenient to have it ignored.`);
    ignored.push(`${what}; it was ignored (Prefer: handling=lenient).`);
  };

  const raw = input.method === 'POST' ? parametersFromBody(input) : parametersFromQuery(input.url);
  const params: Record<string, string> = {};
  for (const [name, values] of raw) {
    params[name] = values.join(',');
    if (SINGLE_VALUED.has(name) && values.length > 1) throw new BulkProblem('bad-request', `${name} may be given once only.`);
  }
  for (const name of raw.keys()) {
    if (!SUPPORTED.has(name)) unsupported(`This server does not support the parameter ${name}`);
  }

  const outputFormat = raw.get('_outputFormat')?.[0];
  if (outputFormat !== undefined && !NDJSON_FORMATS.has(outputFormat)) {
    throw new BulkProblem('unsupported-parameter', `_outputFormat '${outputFormat}' is not supported; use application/fhir+ndjson.`);
  }

  const sinceMs = instantParam(raw, '_since');
  const untilMs = instantParam(raw, '_until');
  if (sinceMs !== null && untilMs !== null && untilMs < sinceMs) throw new BulkProblem('bad-request', '_until is before _since.');

  const known = (type: string): boolean => FHIR_R4_RESOURCE_TYPES.has(type) || catalogue.hasType(type);
  let types: Set<string> | null = null;
  const typeValues = raw.get('_type');
  if (typeValues !== undefined) {
    types = new Set(commaList(typeValues, '_type'));
    const unknown = [...types].filter((t) => !known(t));
    if (unknown.length > 0) throw new BulkProblem('bad-request', `_type names unknown FHIR resource type(s): ${unknown.join(', ')}.`);
  }

  let elements: ExportRequest['elements'] = null;
  const elementValues = raw.get('_elements');
  if (elementValues !== undefined) {
    elements = commaList(elementValues, '_elements').map((item) => {
      const match = ELEMENT.exec(item);
      if (match === null || match[2] === undefined) throw new BulkProblem('bad-request', `_elements entry '${item}' is not [Type.]element (root elements only).`);
      const type = match[1] ?? null;
      if (type !== null && !known(type)) throw new BulkProblem('bad-request', `_elements entry '${item}' names an unknown resource type.`);
      return { type, element: match[2] };
    });
  }

  for (const value of commaList(raw.get('includeAssociatedData') ?? [], 'includeAssociatedData')) {
    if (!ASSOCIATED_DATA.has(value)) unsupported(`includeAssociatedData value '${value}' is not supported`);
  }

  const partial = raw.get('allowPartialManifests')?.[0];
  if (partial !== undefined && partial !== 'true' && partial !== 'false') throw new BulkProblem('bad-request', 'allowPartialManifests must be true or false.');

  const compartment = compartmentOf(input, raw.get('patient'), catalogue, unsupported);
  const kickoffUrl = input.method === 'POST' ? `${input.url.origin}${input.url.pathname}` : input.url.href;
  return {
    level: input.level,
    groupId: input.groupId,
    kickoffUrl,
    params,
    sinceMs,
    untilMs,
    types,
    elements,
    compartment,
    allowPartialManifests: partial === 'true',
    ignored,
  };
}

function compartmentOf(input: KickoffInput, patientValues: string[] | undefined, catalogue: ResourceCatalogue, unsupported: (what: string) => void): CompartmentScope {
  let requested: Set<string> | null = null;
  if (patientValues !== undefined) {
    if (input.method !== 'POST') throw new BulkProblem('bad-request', 'The patient parameter is accepted only in a POST Parameters body.');
    if (input.level === 'system') throw new BulkProblem('bad-request', 'The patient parameter applies to Patient- and Group-level exports only.');
    requested = new Set<string>();
    // Positions, not values, in messages: a reference is a patient identifier.
    for (const [index, reference] of patientValues.entries()) {
      const id = PATIENT_REF.exec(reference)?.[1];
      if (id === undefined) throw new BulkProblem('bad-request', `patient parameter ${index + 1} is not a reference of the form Patient/<id>.`);
      if (catalogue.patientIds.has(id)) requested.add(id);
      else unsupported(`patient parameter ${index + 1} names no Patient on this server`);
    }
  }

  if (input.level === 'system') return null;
  if (input.level === 'patient') return requested === null ? { kind: 'all-patients' } : { kind: 'members', ids: requested };

  // Group level. With Group resources in the data the id must name one and its resolvable members are
  // the cohort; with none, every Patient is a member of any group (a documented simplification).
  const groupId = input.groupId ?? '';
  let members: ReadonlySet<string>;
  if (catalogue.groups.size === 0) members = catalogue.patientIds;
  else {
    const found = catalogue.groups.get(groupId);
    if (found === undefined) throw new BulkProblem('not-found', `Group/${groupId} was not found.`);
    members = found;
  }
  const ids = requested === null ? members : new Set([...members].filter((id) => requested.has(id)));
  return { kind: 'members', ids };
}
