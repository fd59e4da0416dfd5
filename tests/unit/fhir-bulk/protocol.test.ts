import { describe, expect, it } from 'vitest';
import { kickoffRequest } from '../../../pipelines/fhir-bulk/kickoffRequest.ts';
import { retryAfterMs, waitMs } from '../../../pipelines/fhir-bulk/retryAfter.ts';
import { classifyFailure } from '../../../pipelines/fhir-bulk/serverOutcome.ts';

const NOW = Date.parse('2026-11-21T12:00:00Z');

describe('Retry-After', () => {
  const cases = [
    { description: 'seconds', header: '120', expected: 120_000 },
    { description: 'fractional seconds', header: '1.5', expected: 1_500 },
    { description: 'an HTTP-date', header: 'Sat, 21 Nov 2026 12:00:30 GMT', expected: 30_000 },
    { description: 'an absolute epoch in seconds', header: String(NOW / 1000 + 45), expected: 45_000 },
    { description: 'an absolute epoch in milliseconds', header: String(NOW + 5_000), expected: 5_000 },
    { description: 'absent', header: null, expected: null },
    { description: 'garbage', header: 'soon', expected: null },
  ];
  it.each(cases)('reads $description', ({ header, expected }) => {
    expect(retryAfterMs(header, NOW)).toBe(expected);
  });

  it('caps every wait within the bounds, and backs off with jitter when the server says nothing', () => {
    const bounds = { minMs: 1_000, maxMs: 60_000 };
    expect(waitMs('3600', 0, NOW, () => 0.5, bounds)).toBe(60_000);
    expect(waitMs('0', 0, NOW, () => 0.5, bounds)).toBe(1_000);
    expect(waitMs('Sat, 21 Nov 2026 11:00:00 GMT', 0, NOW, () => 0.5, bounds)).toBe(1_000); // a date in the past
    expect(waitMs(null, 0, NOW, () => 1, bounds)).toBe(1_000);
    expect(waitMs(null, 3, NOW, () => 1, bounds)).toBe(8_000);
    expect(waitMs(null, 3, NOW, () => 0, bounds)).toBe(1_000);
    expect(waitMs(null, 30, NOW, () => 1, bounds)).toBe(60_000);
  });
});

describe('classifyFailure', () => {
  const outcome = (code: string, diagnostics: string) => JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] });
  const cases = [
    { description: 'a transient OperationOutcome is retried', status: 500, body: outcome('transient', 'busy'), kind: 'transient', detail: 'transient: busy' },
    { description: '429 is retried', status: 429, body: '', kind: 'transient', detail: 'HTTP 429' },
    { description: 'a processing OperationOutcome is fatal', status: 500, body: outcome('processing', 'boom'), kind: 'fatal', detail: 'processing: boom' },
    { description: 'a 4xx OperationOutcome is fatal', status: 400, body: outcome('invalid', 'bad _type'), kind: 'fatal', detail: 'invalid: bad _type' },
    { description: 'a gateway error without a FHIR body is transient', status: 503, body: '<html>Service Unavailable</html>', kind: 'transient', detail: '<html>Service Unavailable</html>' },
    { description: 'a plain 500 without a FHIR body is fatal', status: 500, body: 'oops', kind: 'fatal', detail: 'oops' },
  ];
  it.each(cases)('$description', ({ status, body, kind, detail }) => {
    expect(classifyFailure(status, body)).toEqual({ kind, status, detail });
  });
});

describe('kickoffRequest', () => {
  it('builds a system-level GET with every parameter, the instant encoded', () => {
    const r = kickoffRequest({ baseUrl: 'https://fhir.example/r4/', level: 'system', method: 'GET', types: ['Patient', 'Observation'], typeFilter: ['Observation?status=final'], since: '2026-01-01T00:00:00+01:00', allowPartialManifests: true });
    expect(r.method).toBe('GET');
    expect(r.url).toBe(
      'https://fhir.example/r4/$export?_outputFormat=application%2Ffhir%2Bndjson&_since=2026-01-01T00%3A00%3A00%2B01%3A00&_type=Patient%2CObservation&_typeFilter=Observation%3Fstatus%3Dfinal&allowPartialManifests=true',
    );
    expect(r.headers).toEqual({ Accept: 'application/fhir+json', Prefer: 'respond-async' });
  });

  it('builds a group-level POST with a Parameters body, patients included', () => {
    const r = kickoffRequest({ baseUrl: 'https://fhir.example/r4', level: 'group', groupId: 'g 1', method: 'POST', types: ['Patient'], since: '2026-01-01T00:00:00Z', patients: ['Patient/1'] });
    expect(r.url).toBe('https://fhir.example/r4/Group/g%201/$export');
    expect(r.headers['Content-Type']).toBe('application/fhir+json');
    expect(JSON.parse(r.body!)).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
        { name: '_since', valueInstant: '2026-01-01T00:00:00Z' },
        { name: '_type', valueString: 'Patient' },
        { name: 'patient', valueReference: { reference: 'Patient/1' } },
      ],
    });
  });

  it('refuses what the spec forbids', () => {
    expect(() => kickoffRequest({ baseUrl: 'https://x', level: 'group', method: 'GET' })).toThrow(/groupId/);
    expect(() => kickoffRequest({ baseUrl: 'https://x', level: 'patient', method: 'GET', patients: ['Patient/1'] })).toThrow(/POST/);
  });
});
