// `carelake runs` and `carelake logs <run_id>`: the run history from the ledger, and one run's log.
// Logs of a run are read from logs/runs/<run_id>.jsonl; runs from before per-run logs existed are
// found in logs/carelake.log by their run_id.

import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CarelakeError } from '../../core/errors.ts';
import { Ledger, RUN_STATUSES, type RunRecord, type RunStatus } from '../../pipelines/ledger/ledger.ts';
import { formatTable, type Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

export interface RunsOptions {
  source?: string;
  status?: string;
  limit: number;
  json: boolean;
}

export function runsCommand(ctx: CommandContext, options: RunsOptions, out: Console): void {
  if (options.status !== undefined && !(RUN_STATUSES as readonly string[]).includes(options.status)) {
    throw new CarelakeError({ code: 'runs.status', kind: 'config', message: `--status must be one of ${RUN_STATUSES.join(', ')}, not '${options.status}'` });
  }
  const runs = withLedger(ctx, (ledger) => ledger.runs({ source: options.source, status: options.status as RunStatus | undefined, limit: options.limit }), []);
  if (options.json) {
    out.info(JSON.stringify(runs, null, 2));
    return;
  }
  if (runs.length === 0) {
    out.info('No runs match.');
    return;
  }
  out.info(
    formatTable(
      ['run_id', 'source', 'trigger', 'attempt', 'status', 'started', 'seconds', 'files', 'records_in', 'landed', 'quarantined', 'error'],
      runs.map((r) => [r.run_id, r.source, r.trigger, r.attempt, r.status, r.started_at, duration(r), r.files_landed, r.records_in, r.records_landed, r.records_quarantined, r.error?.split('\n')[0] ?? '']),
    ),
  );
}

function duration(run: RunRecord): string {
  return run.finished_at ? ((Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000).toFixed(1) : '';
}

export async function logsCommand(ctx: CommandContext, runId: string, options: { json: boolean }, out: Console): Promise<void> {
  const run = withLedger(ctx, (ledger) => ledger.run(runId), undefined);
  if (!run) throw new CarelakeError({ code: 'runs.unknown', kind: 'config', message: `There is no run '${runId}' in ${ctx.layout.ledger}`, hint: 'list runs with `carelake runs`' });
  const own = ctx.layout.runLog(runId);
  const file = existsSync(own) ? own : join(ctx.layout.logs, 'carelake.log');
  let lines = 0;
  for await (const line of readLogLines(file)) {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (entry.run_id !== runId) continue;
    lines++;
    out.info(options.json ? line : formatLogLine(entry));
  }
  if (lines === 0) out.warn(`no log lines for run ${runId} in ${file}`);
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const PLUMBING = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'run_id', 'v']);

/** `2026-11-21T10:00:00.000Z info  file done  file=… status=landed`: one pino line for a person. */
export function formatLogLine(entry: Record<string, unknown>): string {
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString() : String(entry.time ?? '');
  const level = LEVELS[Number(entry.level)] ?? String(entry.level ?? '');
  const fields = Object.entries(entry)
    .filter(([key]) => !PLUMBING.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [time, level.padEnd(5), String(entry.msg ?? ''), ...fields].join('  ');
}

async function* readLogLines(file: string): AsyncGenerator<string> {
  if (!existsSync(file)) return;
  yield* createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
}

function withLedger<T>(ctx: CommandContext, read: (ledger: Ledger) => T, none: T): T {
  if (!existsSync(ctx.layout.ledger)) return none;
  const ledger = Ledger.open(ctx.layout.ledger);
  try {
    return read(ledger);
  } finally {
    ledger.close();
  }
}
