// `carelake bulk status|cancel` against the test server: they read the job in flight from the ledger,
// ask the server about it, and cancel releases it on the server and in the ledger.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bulkCancelCommand, bulkStatusCommand } from '../../../cli/commands/bulk.ts';
import type { Console } from '../../../cli/console.ts';
import { commandContext } from '../../../cli/context.ts';
import { BULK_STATE } from '../../../pipelines/fhir-bulk/bulkConnector.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { FhirBulkTestServer } from '../../support/fhirBulkServer/FhirBulkTestServer.ts';

describe('carelake bulk status and cancel', () => {
  let server: FhirBulkTestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('shows the job in flight as the server sees it, then cancels it', async () => {
    server = await FhirBulkTestServer.start({ resources: new Map([['Patient', ['{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2026-01-01T00:00:00Z"}}']]]) }, { pollsBeforeComplete: 100 });
    const dir = mkdtempSync(join(tmpdir(), 'carelake-bulk-cli-'));
    writeFileSync(join(dir, 'carelake.yml'), `lake: ./lake\nsources:\n  - { name: gp, kind: fhir-bulk, baseUrl: "${server.baseUrl}" }\n  - { name: pas, kind: hl7v2, path: "./hl7/*.hl7" }\n`);
    const ctx = await commandContext({ config: join(dir, 'carelake.yml') });
    const lines: string[] = [];
    const out: Console = { info: (l) => lines.push(l), warn: (l) => lines.push(l), progress: () => {}, done: () => {} };

    await bulkStatusCommand(ctx, 'gp', out);
    expect(lines).toEqual(['gp: next export since (the beginning: no export has completed yet)', 'gp: no export in flight']);

    // A job in flight, as a killed run leaves it.
    const kickoff = await fetch(`${server.baseUrl}/$export`, { headers: { Accept: 'application/fhir+json', Prefer: 'respond-async' } });
    const statusUrl = kickoff.headers.get('content-location')!;
    const ledger = Ledger.open(ctx.layout.ledger);
    ledger.setWatermark('gp', BULK_STATE.job, JSON.stringify({ statusUrl, since: null, startedAt: '2026-01-01T00:00:00.000Z' }), 'r1');
    ledger.close();

    lines.length = 0;
    await bulkStatusCommand(ctx, 'gp', out);
    expect(lines[1]).toBe(`gp: export started 2026-01-01T00:00:00.000Z, status URL ${statusUrl}`);
    expect(lines[2]).toMatch(/^gp: in progress/);

    lines.length = 0;
    await bulkCancelCommand(ctx, 'gp', out);
    expect(lines).toEqual(['gp: export job deleted on the server; the next run starts a new export']);
    expect([...server.jobs.values()].map((j) => j.status)).toEqual(['deleted']);
    const after = Ledger.open(ctx.layout.ledger);
    expect(after.watermark('gp', BULK_STATE.job)).toBeUndefined();
    after.close();

    await expect(bulkStatusCommand(ctx, 'pas', out)).rejects.toThrow(/Source 'pas' is of kind 'hl7v2', not fhir-bulk/);
  });
});
