// What connectors log during `carelake load` reaches lake/logs, even though local sources are listed
// before the lake is opened.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { loadCommand } from '../../../cli/commands/load.ts';
import type { Console } from '../../../cli/console.ts';
import { commandContext } from '../../../cli/context.ts';

const silent: Console = { info: () => {}, warn: () => {}, progress: () => {}, done: () => {} };

it('logs the slow-path fallback of a local NDJSON file to the lake log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'carelake-runlog-'));
  mkdirSync(join(dir, 'export'));
  // 0x1e makes the file take the line-by-line path, which the connector logs as a warning.
  writeFileSync(join(dir, 'export', 'Patient.ndjson'), '{"resourceType":"Patient","id":"p1"}\n{"resourceType":"Patient","id":"p2"}\x1e\n');
  writeFileSync(join(dir, 'export', 'manifest.json'), JSON.stringify({ transactionTime: 't', request: 'x', requiresAccessToken: false, output: [{ type: 'Patient', url: 'Patient.ndjson', count: 2 }] }));
  writeFileSync(join(dir, 'carelake.yml'), 'lake: ./lake\nsources:\n  - { name: gp, kind: fhir-bulk-files, path: ./export }\n');
  const ctx = await commandContext({ config: join(dir, 'carelake.yml') });
  const [summary] = await loadCommand(ctx, [], silent);
  expect([summary!.run.records_landed, summary!.run.records_quarantined]).toEqual([1, 1]);
  const lines = readFileSync(join(ctx.layout.logs, 'carelake.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; reason?: string });
  expect(lines.find((l) => l.msg === 'NDJSON landed line by line in JavaScript')?.reason).toBe('the file contains the byte 0x1e');
});
