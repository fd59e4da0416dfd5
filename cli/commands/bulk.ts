// `carelake bulk status <source>` and `carelake bulk cancel <source>`: the Bulk Data export job a
// source has in flight (kept in the ledger from kick-off), asked of the server; and its release.

import { existsSync } from 'node:fs';
import { CarelakeError } from '../../core/errors.ts';
import { BULK_STATE, bulkClientFor, type SavedBulkJob } from '../../pipelines/fhir-bulk/bulkConnector.ts';
import { Ledger } from '../../pipelines/ledger/ledger.ts';
import type { SourceConfig } from '../../core/config.ts';
import type { Console } from '../console.ts';
import type { CommandContext } from '../context.ts';
import { selectSources } from './load.ts';

type BulkSource = Extract<SourceConfig, { kind: 'fhir-bulk' }>;

function bulkSource(ctx: CommandContext, name: string): BulkSource {
  const [source] = selectSources(ctx, [name]);
  if (source?.kind !== 'fhir-bulk') {
    throw new CarelakeError({ code: 'bulk.not-bulk', kind: 'config', message: `Source '${name}' is of kind '${source?.kind}', not fhir-bulk` });
  }
  return source;
}

function savedState(ctx: CommandContext, name: string): { job: SavedBulkJob | null; since: string | null } {
  if (!existsSync(ctx.layout.ledger)) return { job: null, since: null };
  const ledger = Ledger.open(ctx.layout.ledger);
  try {
    const job = ledger.watermark(name, BULK_STATE.job);
    return { job: job ? (JSON.parse(job) as SavedBulkJob) : null, since: ledger.watermark(name, BULK_STATE.since) ?? null };
  } finally {
    ledger.close();
  }
}

export async function bulkStatusCommand(ctx: CommandContext, name: string, out: Console): Promise<void> {
  const source = bulkSource(ctx, name);
  const { job, since } = savedState(ctx, name);
  out.info(`${name}: next export since ${source.since === 'auto' ? (since ?? '(the beginning: no export has completed yet)') : source.since}`);
  if (!job) {
    out.info(`${name}: no export in flight`);
    return;
  }
  out.info(`${name}: export started ${job.startedAt}${job.since ? ` (since ${job.since})` : ''}, status URL ${job.statusUrl}`);
  const status = await (await bulkClientFor(source)).status(job.statusUrl);
  if (status.state === 'in-progress') out.info(`${name}: in progress${status.progress ? ` — ${status.progress}` : ''}`);
  else if (status.state === 'complete') out.info(`${name}: complete — ${status.manifest.output.length} output file(s), ${status.manifest.error.length} error file(s), transactionTime ${status.manifest.transactionTime}; \`carelake load ${name}\` lands it`);
  else if (status.state === 'gone') out.info(`${name}: the server no longer has this job; the next run starts a new export`);
  else out.info(`${name}: the server answered HTTP ${status.status} (${status.detail}); try again later`);
}

export async function bulkCancelCommand(ctx: CommandContext, name: string, out: Console): Promise<void> {
  const source = bulkSource(ctx, name);
  const { job } = savedState(ctx, name);
  if (!job) {
    out.info(`${name}: no export in flight`);
    return;
  }
  await (await bulkClientFor(source)).deleteJob(job.statusUrl);
  const ledger = Ledger.open(ctx.layout.ledger);
  try {
    ledger.deleteWatermark(name, BULK_STATE.job);
  } finally {
    ledger.close();
  }
  out.info(`${name}: export job deleted on the server; the next run starts a new export`);
}
