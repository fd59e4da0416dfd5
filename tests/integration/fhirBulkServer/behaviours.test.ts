// Each switch of BulkServerBehaviour, observed over plain fetch: throttled kick-offs, the three
// Retry-After forms (and none), slow jobs, transient and fatal status errors, error and deleted files,
// paged manifests, split and corrupted files, gzip, expiry, redirects to a second origin, DELETE, and the
// lenient handling of unsupported parameters. One fresh server per case, so no case leaks into another.

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FhirBulkTestServer, type BulkServerBehaviour } from '../../support/fhirBulkServer/FhirBulkTestServer.ts';
import { downloadLines, exportLines, issueCode, KICKOFF_HEADERS, kickOff, outcomeSchema, pollToManifest } from './bulkFetch.ts';
import { tinyData } from './fixtures.ts';

interface Case {
  description: string;
  behaviour: BulkServerBehaviour;
  check: (server: FhirBulkTestServer) => Promise<void>;
}

async function firstPoll(server: FhirBulkTestServer, query = ''): Promise<{ statusUrl: string; response: Response }> {
  const statusUrl = await kickOff(`${server.baseUrl}/$export${query}`);
  return { statusUrl, response: await fetch(statusUrl) };
}

function jobId(statusUrl: string): string {
  return statusUrl.split('/').pop() ?? '';
}

const retryAfterCases: Case[] = [
  { form: 'seconds' as const, test: (v: string | null) => expect(v).toBe('2') },
  {
    form: 'http-date' as const,
    test: (v: string | null) => {
      expect(v).toMatch(/GMT$/);
      expect(Math.abs(Date.parse(v ?? '') - (Date.now() + 2000))).toBeLessThan(3000);
    },
  },
  {
    form: 'epoch' as const,
    test: (v: string | null) => {
      expect(v).toMatch(/^\d{10}$/);
      expect(Math.abs(Number(v) - (Date.now() / 1000 + 2))).toBeLessThan(3);
    },
  },
  { form: 'none' as const, test: (v: string | null) => expect(v).toBeNull() },
].map(({ form, test }) => ({
  description: `retryAfter '${form}': a 202 status answer carries X-Progress and Retry-After in that form`,
  behaviour: { retryAfter: form, retryAfterSeconds: 2 },
  check: async (server) => {
    const { response } = await firstPoll(server);
    expect(response.status).toBe(202);
    expect(response.headers.get('x-progress')).toMatch(/\S/);
    test(response.headers.get('retry-after'));
  },
}));

const cases: Case[] = [
  {
    description: 'kickoff429: the first N kick-offs answer 429 (throttled, with Retry-After), then 202',
    behaviour: { kickoff429: 2, retryAfterSeconds: 3 },
    check: async (server) => {
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${server.baseUrl}/$export`, { headers: KICKOFF_HEADERS });
        expect(response.status).toBe(429);
        expect(response.headers.get('retry-after')).toBe('3');
        expect(await issueCode(response)).toBe('throttled');
      }
      await kickOff(`${server.baseUrl}/$export`);
      expect(server.jobs.size).toBe(1);
    },
  },
  ...retryAfterCases,
  {
    description: 'pollsBeforeComplete: the status URL answers 202 that many times, then 200 with Expires',
    behaviour: { pollsBeforeComplete: 3 },
    check: async (server) => {
      const statusUrl = await kickOff(`${server.baseUrl}/$export`);
      expect(server.jobs.get(jobId(statusUrl))?.status).toBe('in-progress');
      const { progressAnswers, expires } = await pollToManifest(statusUrl);
      expect(progressAnswers.map((r) => r.status)).toEqual([202, 202, 202]);
      expect(Date.parse(expires ?? '')).toBeGreaterThan(Date.now());
      expect(server.jobs.get(jobId(statusUrl))).toMatchObject({ status: 'complete', polls: 4 });
    },
  },
  {
    description: 'transientStatusErrors: the first N polls answer 500 with issue code transient, then the job goes on',
    behaviour: { transientStatusErrors: 2, pollsBeforeComplete: 0 },
    check: async (server) => {
      const statusUrl = await kickOff(`${server.baseUrl}/$export`);
      for (let i = 0; i < 2; i++) {
        const response = await fetch(statusUrl);
        expect(response.status).toBe(500);
        expect(await issueCode(response)).toBe('transient');
      }
      expect((await fetch(statusUrl)).status).toBe(200);
    },
  },
  {
    description: 'failExport: the status URL answers 500 with issue code processing, every time',
    behaviour: { failExport: true },
    check: async (server) => {
      const { statusUrl, response } = await firstPoll(server);
      expect(response.status).toBe(202);
      for (let i = 0; i < 2; i++) {
        const failed = await fetch(statusUrl);
        expect(failed.status).toBe(500);
        expect(await issueCode(failed)).toBe('processing');
      }
      expect(server.jobs.get(jobId(statusUrl))?.status).toBe('failed');
    },
  },
  {
    description: 'errorFiles: a 200 manifest with full output and error[] naming an OperationOutcome NDJSON file',
    behaviour: { errorFiles: true },
    check: async (server) => {
      const { manifest } = await exportLines(`${server.baseUrl}/$export`);
      expect(manifest.output.map((o) => o.count)).toEqual([3, 9, 2]);
      expect(manifest.error).toHaveLength(1);
      expect(manifest.error[0]?.type).toBe('OperationOutcome');
      const lines = await downloadLines(manifest.error[0]?.url ?? '');
      expect(lines.map((l) => outcomeSchema.parse(JSON.parse(l)).issue[0]?.code)).toEqual(['processing']);
    },
  },
  {
    description: 'deletedWithSince: deleted[] appears only with _since, one Bundle of DELETEs per deletion, filtered by _type',
    behaviour: { deletedWithSince: true },
    check: async (server) => {
      const plain = await exportLines(`${server.baseUrl}/$export`);
      expect(plain.manifest.deleted).toBeUndefined();
      const since = await exportLines(`${server.baseUrl}/$export?_since=2024-06-01T00:00:00Z`);
      expect(since.manifest.deleted?.map((d) => [d.type, d.count])).toEqual([
        ['Bundle', 1],
        ['Bundle', 1],
      ]);
      const urls = (await Promise.all((since.manifest.deleted ?? []).map((d) => downloadLines(d.url)))).flat();
      const requests = urls.map((l) => (JSON.parse(l) as { type: string; entry: { request: { method: string; url: string } }[] }).entry[0]?.request);
      expect(requests).toEqual([
        { method: 'DELETE', url: 'Observation/obs-gone-1' },
        { method: 'DELETE', url: 'Organization/org-gone' },
      ]);
      const typed = await exportLines(`${server.baseUrl}/$export?_since=2024-06-01T00:00:00Z&_type=Patient`);
      expect(typed.manifest.deleted).toEqual([]);
    },
  },
  {
    description: 'pageSize: with allowPartialManifests=true the manifest is paged by link next; without it, one page',
    behaviour: { pageSize: 3, splitFilesAt: 2 },
    check: async (server) => {
      const paged = await pollToManifest(await kickOff(`${server.baseUrl}/$export?allowPartialManifests=true`));
      expect(paged.pages.map((p) => p.output.length)).toEqual([3, 3, 2]);
      expect(paged.pages.map((p) => p.link?.[0]?.relation ?? null)).toEqual(['next', 'next', null]);
      expect(paged.pages.flatMap((p) => p.output).reduce((n, o) => n + (o.count ?? 0), 0)).toBe(14);
      const whole = await pollToManifest(await kickOff(`${server.baseUrl}/$export`));
      expect(whole.pages).toHaveLength(1);
      expect(whole.manifest.output).toHaveLength(8);
      expect(whole.manifest.link).toBeUndefined();
    },
  },
  {
    description: 'splitFilesAt: several files per type, file names carrying no type, counts adding up',
    behaviour: { splitFilesAt: 4 },
    check: async (server) => {
      const { manifest, byType } = await exportLines(`${server.baseUrl}/$export?_type=Observation`);
      expect(manifest.output.map((o) => o.count)).toEqual([4, 4, 1]);
      for (const o of manifest.output) expect(o.url).not.toContain('Observation');
      expect(byType.get('Observation')).toHaveLength(9);
    },
  },
  {
    description: 'corruptLines: the named line of the served type is replaced, the count unchanged',
    behaviour: { corruptLines: [{ type: 'Observation', line: 2, text: '{"resourceType":"Observation","id":' }] },
    check: async (server) => {
      const { byType } = await exportLines(`${server.baseUrl}/$export?_type=Observation`);
      expect(byType.get('Observation')?.[1]).toBe('{"resourceType":"Observation","id":');
      expect(byType.get('Observation')).toHaveLength(9);
    },
  },
  {
    description: 'gzip: downloads are gzip-encoded when asked and enabled, plain otherwise',
    behaviour: { gzip: true },
    check: async (server) => {
      const { manifest } = await exportLines(`${server.baseUrl}/$export?_type=Observation`);
      const url = manifest.output[0]?.url ?? '';
      const zipped = await fetch(url, { headers: { Accept: 'application/fhir+ndjson', 'Accept-Encoding': 'gzip' } });
      expect(zipped.headers.get('content-encoding')).toBe('gzip');
      expect((await zipped.text()).trim().split('\n')).toHaveLength(9);
      const plain = await fetch(url, { headers: { Accept: 'application/fhir+ndjson', 'Accept-Encoding': 'identity' } });
      expect(plain.headers.get('content-encoding')).toBeNull();
      expect((await plain.text()).trim().split('\n')).toHaveLength(9);
      server.setBehaviour({});
      const disabled = await fetch(url, { headers: { Accept: 'application/fhir+ndjson', 'Accept-Encoding': 'gzip' } });
      expect(disabled.headers.get('content-encoding')).toBeNull();
      await disabled.body?.cancel();
    },
  },
  {
    description: 'expireFilesAfterMs: downloads answer 410 (issue deleted) once that long has passed since completion',
    behaviour: { expireFilesAfterMs: 400 },
    check: async (server) => {
      const { manifest, expires } = await pollToManifest(await kickOff(`${server.baseUrl}/$export?_type=Patient`));
      expect(expires).not.toBeNull();
      const url = manifest.output[0]?.url ?? '';
      expect(await downloadLines(url)).toHaveLength(3);
      await sleep(450);
      const gone = await fetch(url, { headers: { Accept: 'application/fhir+ndjson' } });
      expect(gone.status).toBe(410);
      expect(await issueCode(gone)).toBe('deleted');
    },
  },
  {
    description: 'redirectDownloads: 307 to a second origin serving the same bytes, which records any Authorization',
    behaviour: { redirectDownloads: true },
    check: async (server) => {
      const { manifest } = await pollToManifest(await kickOff(`${server.baseUrl}/$export?_type=Patient`));
      const url = manifest.output[0]?.url ?? '';
      const redirect = await fetch(url, { redirect: 'manual', headers: { Accept: 'application/fhir+ndjson' } });
      expect(redirect.status).toBe(307);
      const location = new URL(redirect.headers.get('location') ?? '');
      expect(location.hostname).toBe('127.0.0.1');
      expect(location.origin).not.toBe(new URL(server.baseUrl).origin);
      const lines = await downloadLines(location.href);
      expect(lines).toEqual(tinyData().resources.get('Patient'));
      expect(server.secondOriginAuthorizationSeen).toBe(false);
      await downloadLines(location.href, { Authorization: 'Bearer leaked' });
      expect(server.secondOriginAuthorizationSeen).toBe(true);
      const forged = await fetch(`${location.origin}${location.pathname}?sig=wrong`);
      expect(forged.status).toBe(404);
      await forged.body?.cancel();
    },
  },
];

const protocolCases: Case[] = [
  {
    description: 'DELETE on the status URL answers 202; afterwards status, downloads and DELETE answer 404',
    behaviour: {},
    check: async (server) => {
      const statusUrl = await kickOff(`${server.baseUrl}/$export?_type=Patient`);
      const { manifest } = await pollToManifest(statusUrl);
      const deleted = await fetch(statusUrl, { method: 'DELETE' });
      expect(deleted.status).toBe(202);
      await deleted.body?.cancel();
      for (const [method, url] of [
        ['GET', statusUrl],
        ['GET', manifest.output[0]?.url ?? ''],
        ['DELETE', statusUrl],
      ] as const) {
        const after = await fetch(url, { method });
        expect(after.status, `${method} ${url}`).toBe(404);
        expect(await issueCode(after)).toBe('not-found');
      }
      expect(server.jobs.get(jobId(statusUrl))?.status).toBe('deleted');
    },
  },
  {
    description: '_typeFilter is refused (400 not-supported) unless Prefer: handling=lenient, then ignored and reported in error[]',
    behaviour: {},
    check: async (server) => {
      const url = `${server.baseUrl}/$export?_type=Observation&_typeFilter=${encodeURIComponent('Observation?status=final')}`;
      const strict = await fetch(url, { headers: KICKOFF_HEADERS });
      expect(strict.status).toBe(400);
      expect(await issueCode(strict)).toBe('not-supported');
      const { manifest, byType } = await exportLines(url, { headers: { Prefer: 'respond-async, handling=lenient' } });
      expect(byType.get('Observation')).toHaveLength(9);
      const notes = (await downloadLines(manifest.error[0]?.url ?? '')).map((l) => outcomeSchema.parse(JSON.parse(l)).issue[0]);
      expect(notes).toEqual([expect.objectContaining({ severity: 'warning', code: 'not-supported' })]);
      expect(notes[0]?.diagnostics).toContain('_typeFilter');
    },
  },
  {
    description: '_elements keeps the listed root elements (plus id, meta) and tags the resource SUBSETTED',
    behaviour: {},
    check: async (server) => {
      const { byType } = await exportLines(`${server.baseUrl}/$export?_type=Observation,Patient&_elements=Observation.status`);
      const observation = JSON.parse(byType.get('Observation')?.[0] ?? '{}') as Record<string, unknown> & { meta: { tag: { code: string }[] } };
      expect(Object.keys(observation).sort()).toEqual(['id', 'meta', 'resourceType', 'status']);
      expect(observation.meta.tag.map((t) => t.code)).toEqual(['SUBSETTED']);
      expect(byType.get('Patient')).toEqual(tinyData().resources.get('Patient'));
    },
  },
  {
    description: 'the request log records every request with its query and Authorization',
    behaviour: {},
    check: async (server) => {
      await kickOff(`${server.baseUrl}/$export?_type=Patient`);
      expect(server.log).toEqual([expect.objectContaining({ method: 'GET', path: '/fhir/$export', query: { _type: 'Patient' }, authorization: null })]);
    },
  },
];

describe('FHIR Bulk test server behaviours', () => {
  it.each([...cases, ...protocolCases])('$description', async ({ behaviour, check }) => {
    const server = await FhirBulkTestServer.start(tinyData(), behaviour);
    try {
      await check(server);
    } finally {
      await server.close();
    }
  });

  it('treats a client that abandons a download mid-stream as no server failure', async () => {
    const line = JSON.stringify({ resourceType: 'Observation', id: 'x', status: 'final', note: [{ text: 'n'.repeat(200) }] });
    const server = await FhirBulkTestServer.start({ resources: new Map([['Observation', Array.from({ length: 20_000 }, () => line)]]) }, { gzip: true });
    try {
      const { manifest } = await pollToManifest(await kickOff(`${server.baseUrl}/$export`));
      const response = await fetch(manifest.output[0]?.url ?? '', { headers: { Accept: 'application/fhir+ndjson', 'Accept-Encoding': 'identity' } });
      const reader = response.body?.getReader();
      await reader?.read();
      await reader?.cancel();
      await sleep(50);
    } finally {
      await server.close();
    }
  });

  it('rejects a behaviour with a mistake, naming it', async () => {
    const server = await FhirBulkTestServer.start(tinyData());
    try {
      expect(() => server.setBehaviour({ pollsBeforeComplete: -1 })).toThrow(/pollsBeforeComplete/);
      expect(() => server.setBehaviour({ corruptLines: [{ type: 'Patient', line: 1, text: 'a\nb' }] })).toThrow(/line break/);
    } finally {
      await server.close();
    }
  });
});
