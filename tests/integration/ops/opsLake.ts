// A small lake for the engineers' pages and metrics: a config with two scheduled sources and a build,
// one HL7 v2 source really run twice (a partial run with a quarantined message and a wrong batch count,
// then a run with a duplicate that is filtered), and ledger rows for what a test cannot cheaply run: a
// failed ESR run and its failed retry, a warehouse build, an alert. Synthetic data only.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type CarelakeConfig } from '../../../core/config.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { Ledger, type RunRecord } from '../../../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource, type RunSummary } from '../../../pipelines/runs/runSource.ts';

export const OPS_CONFIG_YAML = `lake: ./lake
sources:
  - name: pas
    kind: hl7v2
    path: "./in/*.hl7"
    schedule: "*/15 * * * *"
    freshness: { warn_after: { count: 1, period: hour }, error_after: { count: 1, period: day } }
  - name: esr
    kind: esr
    path: ./esr
    schedule: "30 6 * * *"
    freshness: { error_after: { count: 2, period: day } }
scheduler:
  timezone: Europe/London
  build: { schedule: "0 3 * * *", after: [pas] }
`;

const msh = (id: string, type = 'ADT^A01^ADT_A01') => `MSH|^~\\&|PAS|RX1|CARELAKE|QCL|20260101120000||${type}|${id}|P|2.4`;

/** Two good messages, one without MSH-10 (quarantined), and a BTS count that disagrees (3 read, 2 declared). */
export const FIRST_FEED = [
  'BHS|^~\\&|PAS|RX1',
  [msh('M1'), 'PID|1||123^^^RX1^MR', 'PV1|1|I'].join('\r'),
  ['MSH|^~\\&|PAS|RX1|CARELAKE|QCL|20260101120000||ADT^A01|', 'PID|1||124^^^RX1^MR'].join('\r'),
  [msh('M3', 'ADT^A03^ADT_A03'), 'PID|1||123^^^RX1^MR'].join('\r'),
  'BTS|2',
].join('\r') + '\r';

/** M1 again (filtered as a duplicate) and one new message. */
export const SECOND_FEED = [[msh('M1'), 'PID|1||123^^^RX1^MR', 'PV1|1|I'].join('\r'), [msh('M4'), 'PID|1||125^^^RX1^MR'].join('\r')].join('\r') + '\r';

export const FAILED_ESR_ERROR = 'The SFTP server refused the connection (test).';

export interface OpsLake {
  root: string;
  config: CarelakeConfig;
  layout: LakeLayout;
  ledger: Ledger;
  /** The partial run (quarantine, reconciliation) and the run with a filtered duplicate. */
  pasRuns: [RunSummary, RunSummary];
  failedEsr: RunRecord;
  retriedEsr: RunRecord;
  build: RunRecord;
  /** Runs pas again over a new file, returning its run. */
  runPas(file: string, text: string): Promise<RunSummary>;
  close(): void;
}

export async function makeOpsLake(): Promise<OpsLake> {
  const root = mkdtempSync(join(tmpdir(), 'carelake-ops-'));
  mkdirSync(join(root, 'in'));
  mkdirSync(join(root, 'esr'));
  const config = parseConfig(OPS_CONFIG_YAML, { file: join(root, 'carelake.yml'), baseDir: root });
  const layout = new LakeLayout(config.lake);
  const ledger = Ledger.open(layout.ledger);
  // Logging to the lake, so each run leaves its own log (logs/runs/<run_id>.jsonl).
  const logger = createLogger(layout.logs);
  const pas = config.sources.find((s) => s.name === 'pas')!;
  const runPas = async (file: string, text: string): Promise<RunSummary> => {
    writeFileSync(join(root, 'in', file), text, 'latin1');
    return runSource(pas, await listSourceFiles(pas, { layout, logger, ledger: () => ledger }), { layout, ledger, logger, trigger: 'schedule' });
  };
  const first = await runPas('feed-1.hl7', FIRST_FEED);
  const second = await runPas('feed-2.hl7', SECOND_FEED);

  const dayAgo = Date.now() - 86_400_000;
  const at = (offsetSeconds: number) => new Date(dayAgo + offsetSeconds * 1000).toISOString();
  ledger.startRun({ run_id: 'esr-attempt-1', source: 'esr', kind: 'esr', trigger: 'schedule', started_at: at(0), scheduled_for: at(0) });
  ledger.finishRun('esr-attempt-1', { status: 'failed', finished_at: at(42), files_seen: 0, files_skipped: 0, error: FAILED_ESR_ERROR });
  ledger.markRetried('esr-attempt-1');
  const failedEsr = ledger.run('esr-attempt-1')!;
  ledger.startRun({ run_id: 'esr-attempt-2', source: 'esr', kind: 'esr', trigger: 'schedule', started_at: at(100), attempt: 2, retry_of: 'esr-attempt-1', scheduled_for: at(0) });
  const retriedEsr = ledger.finishRun('esr-attempt-2', { status: 'failed', finished_at: at(103), files_seen: 0, files_skipped: 0, error: FAILED_ESR_ERROR });
  ledger.startRun({ run_id: 'build-1', source: 'build', kind: 'build', trigger: 'dependency', started_at: at(200) });
  const build = ledger.finishRun('build-1', { status: 'succeeded', finished_at: at(290), files_seen: 0, files_skipped: 0, error: null });
  ledger.recordAlert({
    alert_id: 'alert-1',
    kind: 'run-failed',
    severity: 'critical',
    source: 'esr',
    run_id: 'esr-attempt-2',
    summary: 'esr failed after 2 attempts',
    details: null,
    raised_at: at(104),
    delivery: 'log-only',
    attempts: 0,
    delivered_at: null,
    delivery_error: null,
  });
  return { root, config, layout, ledger, pasRuns: [first, second], failedEsr, retriedEsr, build, runPas, close: () => ledger.close() };
}
