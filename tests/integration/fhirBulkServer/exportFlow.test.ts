// The FHIR Bulk test server end to end with plain fetch, on the shared real (Synthea) export and on a
// small `generateDemoSources` folder: every line of every file comes back with counts matching, and the
// export levels and filters (`_type`, `_since`, `_until`, Patient/Group level, POST `patient`) select
// what the spec says they select.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoSources } from '../../../synthetic/generate.ts';
import { describeWithShared } from '../../sharedData.ts';
import { FhirBulkTestServer } from '../../support/fhirBulkServer/FhirBulkTestServer.ts';
import { exportLines, issueCode, KICKOFF_HEADERS, parametersBody, resourceTypeOf } from './bulkFetch.ts';

async function folderLines(folder: string): Promise<Map<string, string[]>> {
  const manifest = JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')) as { output: { type: string; url: string }[] };
  const byType = new Map<string, string[]>();
  for (const entry of manifest.output) {
    const text = await readFile(join(folder, entry.url.split('/').pop() ?? ''), 'utf8');
    byType.set(entry.type, text.split('\n').filter((l) => l.trim() !== ''));
  }
  return byType;
}

function counts(byType: Map<string, string[]>): Record<string, number> {
  return Object.fromEntries([...byType].map(([type, lines]) => [type, lines.length]));
}

describeWithShared('FHIR Bulk test server: the shared real export', (shared) => {
  const folder = join(shared, 'data', 'fhir-bulk');
  let server: FhirBulkTestServer;
  let expected: Map<string, string[]>;

  beforeAll(async () => {
    const data = await FhirBulkTestServer.fromFolder(folder);
    const deletions = await FhirBulkTestServer.fromFolder(join(folder, 'deleted'));
    server = await FhirBulkTestServer.start({ ...data, deleted: deletions.deleted ?? [] }, { deletedWithSince: true });
    expected = await folderLines(folder);
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves every line of every file, with manifest counts equal to the lines (less the one deleted Condition)', async () => {
    const { manifest, byType, statusUrl } = await exportLines(`${server.baseUrl}/$export`);
    const want = counts(expected);
    want['Condition'] = (want['Condition'] ?? 0) - 1;
    expect(counts(byType)).toEqual(want);
    expect(manifest.request).toBe(`${server.baseUrl}/$export`);
    expect(manifest.requiresAccessToken).toBe(false);
    expect(manifest.deleted).toBeUndefined();
    for (const [type, lines] of byType) expect(new Set(lines.map(resourceTypeOf)), type).toEqual(new Set([type]));
    expect(server.jobs.get(statusUrl.split('/').pop() ?? '')?.status).toBe('complete');
  });

  const cases: { description: string; path: string; init?: RequestInit; want: (all: Record<string, number>) => Record<string, number> }[] = [
    {
      description: '_type keeps only the listed types',
      path: '$export?_type=Patient,Condition',
      want: (all) => ({ Patient: all['Patient'] ?? 0, Condition: (all['Condition'] ?? 0) - 1 }),
    },
    {
      description: 'Patient level leaves out resources outside any patient compartment',
      path: 'Patient/$export?_type=Patient,Organization,Practitioner,Group,Observation',
      want: (all) => ({ Patient: all['Patient'] ?? 0, Observation: all['Observation'] ?? 0 }),
    },
    {
      description: 'Group level takes the Group resource’s members that resolve (2 of BlueCrossBlueShield’s 27)',
      path: 'Group/BlueCrossBlueShield/$export?_type=Patient',
      want: () => ({ Patient: 2 }),
    },
    {
      description: 'POST with a patient parameter narrows a Patient-level export to that patient',
      path: 'Patient/$export',
      init: parametersBody([
        { name: '_type', valueString: 'Patient,AllergyIntolerance' },
        { name: 'patient', valueReference: { reference: 'Patient/3b1a9cb0-e3d3-4bce-8b20-864c3dc7e8c0' } },
      ]),
      want: () => ({ Patient: 1, AllergyIntolerance: 6 }),
    },
  ];
  it.each(cases)('$description', async ({ path, init, want }) => {
    const { byType } = await exportLines(`${server.baseUrl}/${path}`, init);
    expect(counts(byType)).toEqual(want(counts(expected)));
  });

  it('answers 404 for a Group the data does not hold', async () => {
    const response = await fetch(`${server.baseUrl}/Group/NoSuchGroup/$export`, { headers: KICKOFF_HEADERS });
    expect(response.status).toBe(404);
    expect(await issueCode(response)).toBe('not-found');
  });

  it('lists the deleted Condition in deleted[] for a _since export, as a transaction Bundle of DELETEs', async () => {
    const { manifest } = await exportLines(`${server.baseUrl}/$export?_type=Condition&_since=2010-01-01T00:00:00Z`);
    expect(manifest.deleted).toHaveLength(1);
    const entry = manifest.deleted?.[0];
    expect(entry?.type).toBe('Bundle');
    const text = await (await fetch(entry?.url ?? '', { headers: { Accept: 'application/fhir+ndjson' } })).text();
    const bundle = JSON.parse(text.trim()) as { type: string; entry: { request: { method: string; url: string } }[] };
    expect(bundle.type).toBe('transaction');
    expect(bundle.entry.map((e) => e.request.method)).toEqual(['DELETE']);
    expect(bundle.entry[0]?.request.url).toMatch(/^Condition\//);
  });
});

describe('FHIR Bulk test server: a generateDemoSources folder', () => {
  let dir: string;
  let server: FhirBulkTestServer;
  let expected: Map<string, string[]>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carelake-bulk-server-'));
    await generateDemoSources({ patients: 50, seed: 11, outDir: dir });
    server = await FhirBulkTestServer.start(await FhirBulkTestServer.fromFolder(join(dir, 'fhir')));
    expected = await folderLines(join(dir, 'fhir'));
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves every line, counts equal to the generator’s manifest', async () => {
    const { byType } = await exportLines(`${server.baseUrl}/$export`);
    expect(counts(byType)).toEqual(counts(expected));
    expect([...byType.values()].flat().sort()).toEqual([...expected.values()].flat().sort());
  });

  it.each([
    { description: '_since keeps only resources updated after it', query: (cut: string) => `_since=${cut}`, keep: (at: string, cut: string) => at > cut },
    { description: '_until keeps only resources updated at or before it', query: (cut: string) => `_until=${cut}`, keep: (at: string, cut: string) => at <= cut },
  ])('$description', async ({ query, keep }) => {
    const stamps = [...expected.values()].flat().map((line) => (JSON.parse(line) as { meta: { lastUpdated: string } }).meta.lastUpdated);
    const cut = [...stamps].sort()[Math.floor(stamps.length / 2)] ?? '';
    const { byType } = await exportLines(`${server.baseUrl}/$export?${query(cut)}`);
    const got = [...byType.values()].flat();
    expect(got.length).toBe(stamps.filter((at) => keep(at, cut)).length);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(stamps.length);
  });

  it('treats every Patient as a member of any Group when the data holds no Group resources', async () => {
    const { byType } = await exportLines(`${server.baseUrl}/Group/any-cohort/$export?_type=Patient,Organization`);
    expect(counts(byType)).toEqual({ Patient: expected.get('Patient')?.length });
  });

  it('returns nothing new when the next export uses the transactionTime as _since', async () => {
    const first = await exportLines(`${server.baseUrl}/$export?_type=Patient`);
    const second = await exportLines(`${server.baseUrl}/$export?_type=Patient&_since=${first.manifest.transactionTime}`);
    expect(second.manifest.output).toEqual([]);
  });
});
