// The warehouse build as a scheduler job: one attempt is one run in the ledger (source `build`, kind
// `build`), with its own log file, succeeded when every model built and failed — with the failing model
// named — when one did not, so retries and alerts treat builds like loads.

import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUILD_JOB, parseConfig } from '../../../core/config.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { jobAttempts } from '../../../pipelines/scheduler/jobAttempt.ts';
import { runJob } from '../../../pipelines/scheduler/retryingRun.ts';
import { schedulerJobs } from '../../../pipelines/scheduler/schedulerJobs.ts';
import { tinyProject, type TinyProject } from '../models/tinyProject.ts';

let project: TinyProject | null = null;
afterEach(async () => {
  await project?.cleanup();
  project = null;
});

async function buildOnce(model: string) {
  project = await tinyProject({ 'models/numbers.sql': model });
  const root = mkdtempSync(join(tmpdir(), 'carelake-build-job-'));
  const config = parseConfig(`lake: ./lake\nmodels: { projectDir: ${JSON.stringify(project.dir)} }\nscheduler: { build: { retries: 1, backoff: { initialSeconds: 0.05, maxSeconds: 0.05 } } }`, { file: null, baseDir: root });
  const layout = new LakeLayout(config.lake);
  const ledger = Ledger.open(layout.ledger);
  const logger = createLogger(layout.logs);
  try {
    const job = schedulerJobs(config).find((j) => j.name === BUILD_JOB)!;
    const execute = jobAttempts({ config, layout, ledger, logger, env: { CARELAKE_PSEUDONYM_KEY: 'ab'.repeat(32) } });
    const run = await runJob({ job, trigger: 'dependency' }, { execute, ledger, logger, signal: new AbortController().signal });
    return { run, runs: ledger.runs({ source: BUILD_JOB }).reverse(), log: await readFile(layout.runLog(run.run_id), 'utf8').catch(() => '') };
  } finally {
    ledger.close();
  }
}

describe('the build job', () => {
  it('records a successful build as a run with its own log', async () => {
    const { run, log } = await buildOnce('select 1 as n');
    expect(run, run.error ?? '').toMatchObject({ source: 'build', kind: 'build', trigger: 'dependency', status: 'succeeded', attempt: 1 });
    const lines = log.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; run_id: string });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['build started', 'models built', 'build finished']));
    expect(lines.every((l) => l.run_id === run.run_id)).toBe(true);
  });

  it('records a failing model as a failed build, retried, naming the model', async () => {
    const { run, runs } = await buildOnce('select not_a_column from (select 1 as n)');
    expect(runs.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'retried'],
      [2, 'failed'],
    ]);
    expect(run.error).toContain('model.carelake.numbers');
  });
});
