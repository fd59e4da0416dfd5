// The Bulk Data kick-off request for a source's settings (FHIR Bulk Data IG 2.0): system, patient or
// group level, by GET with query parameters or by POST with a FHIR Parameters body. Pure.

export type ExportLevel = 'system' | 'patient' | 'group';

export interface ExportRequestOptions {
  baseUrl: string;
  level: ExportLevel;
  groupId?: string | null;
  method: 'GET' | 'POST';
  types?: readonly string[];
  typeFilter?: readonly string[];
  since?: string | null;
  allowPartialManifests?: boolean;
  elements?: readonly string[];
  until?: string | null;
  includeAssociatedData?: readonly string[];
  /** `Prefer: handling=lenient`: the server may ignore parameters it cannot honour (carelake re-applies _typeFilter itself). */
  lenient?: boolean;
  /** POST only: restrict a patient-level export to these patients (`Patient/123` references). */
  patients?: readonly string[];
}

export interface KickoffRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

/** The spec's default and the only format carelake lands. */
export const NDJSON_FORMAT = 'application/fhir+ndjson';

export function kickoffRequest(options: ExportRequestOptions): KickoffRequest {
  const base = options.baseUrl.replace(/\/+$/, '');
  const path =
    options.level === 'system' ? '$export' : options.level === 'patient' ? 'Patient/$export' : `Group/${encodeURIComponent(requireGroup(options.groupId))}/$export`;
  const headers: Record<string, string> = { Accept: 'application/fhir+json', Prefer: options.lenient ? 'respond-async, handling=lenient' : 'respond-async' };
  const params: [string, string][] = [['_outputFormat', NDJSON_FORMAT]];
  if (options.since) params.push(['_since', options.since]);
  if (options.types?.length) params.push(['_type', options.types.join(',')]);
  for (const filter of options.typeFilter ?? []) params.push(['_typeFilter', filter]);
  if (options.elements?.length) params.push(['_elements', options.elements.join(',')]);
  if (options.until) params.push(['_until', options.until]);
  if (options.includeAssociatedData?.length) params.push(['includeAssociatedData', options.includeAssociatedData.join(',')]);
  if (options.allowPartialManifests) params.push(['allowPartialManifests', 'true']);

  if (options.method === 'GET') {
    if (options.patients?.length) throw new RangeError('the patient parameter needs method POST');
    const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    return { url: `${base}/${path}?${query}`, method: 'GET', headers };
  }
  const parameter = [
    ...params.map(([name, value]) => (name === '_since' || name === '_until' ? { name, valueInstant: value } : name === 'allowPartialManifests' ? { name, valueBoolean: true } : { name, valueString: value })),
    ...(options.patients ?? []).map((reference) => ({ name: 'patient', valueReference: { reference } })),
  ];
  return {
    url: `${base}/${path}`,
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Parameters', parameter }),
  };
}

function requireGroup(groupId: string | null | undefined): string {
  if (!groupId) throw new RangeError('a group-level export needs a groupId');
  return groupId;
}
