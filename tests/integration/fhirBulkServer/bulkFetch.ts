// Plain-`fetch` steps of the Bulk Data protocol for the test server's own tests: kick-off, poll to the
// manifest (following `link: next` pages), download and DELETE. Deliberately no client library — these
// tests pin the server to the spec, so each step is spelt out. Responses stay `unknown` until zod checks them.

import { expect } from 'vitest';
import { z } from 'zod';

export const KICKOFF_HEADERS = { Accept: 'application/fhir+json', Prefer: 'respond-async' } as const;

const entrySchema = z.object({ type: z.string(), url: z.string(), count: z.number().int().optional() });
export const manifestSchema = z.object({
  transactionTime: z.string(),
  request: z.string(),
  requiresAccessToken: z.boolean(),
  output: z.array(entrySchema),
  error: z.array(entrySchema),
  deleted: z.array(entrySchema).optional(),
  link: z.array(z.object({ relation: z.string(), url: z.string() })).optional(),
});
export type TestManifest = z.infer<typeof manifestSchema>;

export const outcomeSchema = z.object({
  resourceType: z.literal('OperationOutcome'),
  issue: z.array(z.object({ severity: z.string(), code: z.string(), diagnostics: z.string().optional() })).min(1),
});

/** The first issue code of an OperationOutcome response, checking its content type. */
export async function issueCode(response: Response): Promise<string> {
  expect(response.headers.get('content-type')).toBe('application/fhir+json');
  return outcomeSchema.parse(await response.json()).issue[0]?.code ?? '';
}

export function bearer(token: string | null): Record<string, string> {
  return token === null ? {} : { Authorization: `Bearer ${token}` };
}

/** Sends a kick-off and returns the status URL, insisting on 202 and an absolute Content-Location. */
export async function kickOff(url: string, init: RequestInit = {}): Promise<string> {
  const response = await fetch(url, { ...init, headers: { ...KICKOFF_HEADERS, ...(init.headers as Record<string, string> | undefined) } });
  expect(response.status, await response.clone().text()).toBe(202);
  const location = response.headers.get('content-location');
  expect(location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
  await response.body?.cancel();
  return location ?? '';
}

export interface PolledManifest {
  manifest: TestManifest;
  /** Every page's output, error and deleted entries concatenated. */
  pages: TestManifest[];
  expires: string | null;
  progressAnswers: Response[];
}

/** Polls (no waiting: the server is told Retry-After 0) until 200, then follows `next` links. */
export async function pollToManifest(statusUrl: string, headers: Record<string, string> = {}, maxPolls = 20): Promise<PolledManifest> {
  const progressAnswers: Response[] = [];
  for (let poll = 0; poll < maxPolls; poll++) {
    const response = await fetch(statusUrl, { headers: { Accept: 'application/json', ...headers } });
    if (response.status === 202) {
      progressAnswers.push(response);
      await response.body?.cancel();
      continue;
    }
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const manifest = manifestSchema.parse(await response.json());
    const pages = [manifest];
    for (let next = manifest.link?.find((l) => l.relation === 'next'); next !== undefined; ) {
      const page = await fetch(next.url, { headers: { Accept: 'application/json', ...headers } });
      expect(page.status).toBe(200);
      const parsed = manifestSchema.parse(await page.json());
      pages.push(parsed);
      next = parsed.link?.find((l) => l.relation === 'next');
    }
    return { manifest, pages, expires: response.headers.get('expires'), progressAnswers };
  }
  throw new Error(`No manifest after ${maxPolls} polls of ${statusUrl}`);
}

/** Downloads one file and returns its non-empty lines. */
export async function downloadLines(url: string, headers: Record<string, string> = {}): Promise<string[]> {
  const response = await fetch(url, { headers: { Accept: 'application/fhir+ndjson', ...headers } });
  expect(response.status, url).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/fhir+ndjson');
  return (await response.text()).split('\n').filter((line) => line !== '');
}

/** Kick-off → poll → download every output; lines by manifest type. */
export async function exportLines(kickoffUrl: string, init: RequestInit = {}, headers: Record<string, string> = {}): Promise<{ manifest: TestManifest; statusUrl: string; byType: Map<string, string[]> }> {
  const statusUrl = await kickOff(kickoffUrl, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
  const { manifest, pages } = await pollToManifest(statusUrl, headers);
  const byType = new Map<string, string[]>();
  for (const entry of pages.flatMap((p) => p.output)) {
    const lines = await downloadLines(entry.url, headers);
    expect(lines.length, `${entry.type} count`).toBe(entry.count);
    byType.set(entry.type, [...(byType.get(entry.type) ?? []), ...lines]);
  }
  return { manifest, statusUrl, byType };
}

/** A FHIR Parameters body for a POST kick-off. */
export function parametersBody(parameters: { name: string; [value: string]: unknown }[]): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Parameters', parameter: parameters }),
  };
}

export function resourceTypeOf(line: string): string {
  const parsed = z.object({ resourceType: z.string() }).loose().parse(JSON.parse(line));
  return parsed.resourceType;
}
