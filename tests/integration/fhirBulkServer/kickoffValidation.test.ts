// Kick-off requests the spec says a server must refuse (400/404/405/415 with an OperationOutcome) and the
// variants it must accept (202): headers, `_outputFormat`, `_type`, `_since`, `patient` (POST only),
// the Parameters body and unknown parameters.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirBulkTestServer } from '../../support/fhirBulkServer/FhirBulkTestServer.ts';
import { issueCode, KICKOFF_HEADERS, parametersBody } from './bulkFetch.ts';
import { tinyData } from './fixtures.ts';

let server: FhirBulkTestServer;

beforeAll(async () => {
  const data = tinyData();
  data.resources.set('Group', [JSON.stringify({ resourceType: 'Group', id: 'cohort', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/pat-a' } }] })]);
  server = await FhirBulkTestServer.start(data);
});
afterAll(async () => {
  await server.close();
});

interface KickoffCase {
  description: string;
  path: string;
  init?: RequestInit;
  headers?: Record<string, string>;
  status: number;
  code?: string;
}

const refused: KickoffCase[] = [
  { description: 'no Accept header', path: '$export', headers: { Accept: '' }, status: 400, code: 'invalid' },
  { description: 'Accept: application/json', path: '$export', headers: { Accept: 'application/json' }, status: 400, code: 'invalid' },
  { description: 'no Prefer header', path: '$export', headers: { Prefer: '' }, status: 400, code: 'invalid' },
  { description: 'Prefer without respond-async', path: '$export', headers: { Prefer: 'handling=lenient' }, status: 400, code: 'invalid' },
  { description: '_outputFormat text/csv', path: '$export?_outputFormat=text/csv', status: 400, code: 'not-supported' },
  { description: '_type naming no FHIR type', path: '$export?_type=Patient,Patinet', status: 400, code: 'invalid' },
  { description: '_type with a blank entry', path: '$export?_type=Patient,', status: 400, code: 'invalid' },
  { description: '_since as a date only', path: '$export?_since=2024-01-01', status: 400, code: 'invalid' },
  { description: '_since without a time zone', path: '$export?_since=2024-01-01T00:00:00', status: 400, code: 'invalid' },
  { description: '_since given twice', path: '$export?_since=2024-01-01T00:00:00Z&_since=2024-02-01T00:00:00Z', status: 400, code: 'invalid' },
  { description: '_until before _since', path: '$export?_since=2024-02-01T00:00:00Z&_until=2024-01-01T00:00:00Z', status: 400, code: 'invalid' },
  { description: 'patient in a GET query', path: 'Patient/$export?patient=Patient/pat-a', status: 400, code: 'invalid' },
  { description: 'an unknown parameter without lenient handling', path: '$export?_count=10', status: 400, code: 'not-supported' },
  { description: 'organizeOutputBy (unsupported)', path: '$export?organizeOutputBy=Patient', status: 400, code: 'not-supported' },
  { description: 'includeAssociatedData with a custom value', path: '$export?includeAssociatedData=_mine', status: 400, code: 'not-supported' },
  {
    description: 'patient at system level',
    path: '$export',
    init: parametersBody([{ name: 'patient', valueReference: { reference: 'Patient/pat-a' } }]),
    status: 400,
    code: 'invalid',
  },
  {
    description: 'patient naming no Patient on the server',
    path: 'Patient/$export',
    init: parametersBody([{ name: 'patient', valueReference: { reference: 'Patient/nobody' } }]),
    status: 400,
    code: 'not-supported',
  },
  { description: 'a POST body that is not Parameters', path: '$export', init: { method: 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body: '{"resourceType":"Patient"}' }, status: 400, code: 'invalid' },
  { description: 'a POST body that is not JSON', path: '$export', init: { method: 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body: 'nope' }, status: 400, code: 'invalid' },
  { description: 'a POST with a form body', path: '$export', init: { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '_type=Patient' }, status: 415, code: 'not-supported' },
  { description: 'a Group the data does not hold', path: 'Group/other/$export', status: 404, code: 'not-found' },
  { description: 'PUT on $export', path: '$export', init: { method: 'PUT' }, status: 405, code: 'not-supported' },
  { description: 'an unknown path', path: 'Patient/pat-a', status: 404, code: 'not-found' },
];

const accepted: KickoffCase[] = [
  { description: '_outputFormat application/fhir+ndjson', path: '$export?_outputFormat=application/fhir%2Bndjson', status: 202 },
  { description: '_outputFormat application/ndjson', path: '$export?_outputFormat=application/ndjson', status: 202 },
  { description: '_outputFormat ndjson', path: '$export?_outputFormat=ndjson', status: 202 },
  { description: 'Accept with a charset parameter', path: '$export', headers: { Accept: 'application/fhir+json; charset=utf-8' }, status: 202 },
  { description: '_type repeated', path: '$export?_type=Patient&_type=Observation', status: 202 },
  { description: '_type naming a real type the data lacks', path: '$export?_type=MedicationRequest', status: 202 },
  { description: 'an unknown parameter with handling=lenient', path: '$export?_count=10', headers: { Prefer: 'respond-async, handling=lenient' }, status: 202 },
  { description: 'includeAssociatedData=LatestProvenanceResources', path: '$export?includeAssociatedData=LatestProvenanceResources', status: 202 },
  { description: 'a Group the data holds', path: 'Group/cohort/$export', status: 202 },
  {
    description: 'POST Parameters with _type, _since and patient',
    path: 'Patient/$export',
    init: parametersBody([
      { name: '_type', valueString: 'Observation' },
      { name: '_since', valueInstant: '2024-01-01T00:00:00Z' },
      { name: 'patient', valueReference: { reference: 'Patient/pat-b' } },
    ]),
    status: 202,
  },
];

describe('FHIR Bulk test server kick-off validation', () => {
  it.each([...refused, ...accepted])('$description → $status', async ({ path, init, headers, status, code }) => {
    const merged: Record<string, string> = { ...KICKOFF_HEADERS, ...(init?.headers as Record<string, string> | undefined), ...headers };
    for (const [name, value] of Object.entries(merged)) if (value === '') delete merged[name];
    const response = await fetch(`${server.baseUrl}/${path}`, { ...init, headers: merged });
    expect(response.status, await response.clone().text()).toBe(status);
    if (code !== undefined) expect(await issueCode(response)).toBe(code);
    else {
      expect(response.headers.get('content-location')).toMatch(new RegExp(`^${server.baseUrl.replace(/[.$]/g, '\\$&')}/bulkstatus/`));
      await response.body?.cancel();
    }
  });

  it('records the parameters of each accepted job, POST parameters included', async () => {
    const job = [...server.jobs.values()].find((j) => j.params['patient'] === 'Patient/pat-b');
    expect(job).toMatchObject({ status: 'in-progress', params: { _type: 'Observation', _since: '2024-01-01T00:00:00Z' }, request: `${server.baseUrl}/Patient/$export` });
  });
});
