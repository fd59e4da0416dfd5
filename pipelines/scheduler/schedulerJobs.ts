// What the scheduler runs: one job per source, and the warehouse build (`build`). Each job carries its
// cron (if any), whether a missed tick is caught up, and how failures are retried. Pure.

import { BUILD_JOB, DEFAULT_BACKOFF, DEFAULT_RETRIES, type BackoffSettings, type CarelakeConfig, type SourceConfig } from '../../core/config.ts';

export interface SchedulerJob {
  name: string;
  /** A source, or the warehouse build. */
  kind: 'source' | 'build';
  source: SourceConfig | null;
  schedule: string | null;
  catchUp: boolean;
  retries: number;
  backoff: BackoffSettings;
  /** For the build: the sources whose new data triggers it. */
  after: readonly string[];
}

export function schedulerJobs(config: CarelakeConfig): SchedulerJob[] {
  const { scheduler } = config;
  const sources: SchedulerJob[] = config.sources.map((source) => ({
    name: source.name,
    kind: 'source',
    source,
    schedule: source.schedule ?? null,
    catchUp: source.catchUp ?? scheduler.catchUp,
    retries: source.retries ?? DEFAULT_RETRIES,
    backoff: source.backoff ?? DEFAULT_BACKOFF,
    after: [],
  }));
  const build: SchedulerJob = {
    name: BUILD_JOB,
    kind: 'build',
    source: null,
    schedule: scheduler.build.schedule ?? null,
    catchUp: scheduler.catchUp,
    retries: scheduler.build.retries,
    backoff: scheduler.build.backoff,
    after: scheduler.build.after,
  };
  return [...sources, build];
}
