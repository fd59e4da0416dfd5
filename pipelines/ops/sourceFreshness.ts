// Freshness of the landing sources, judged as dbt judges a source (warn_after / error_after, strictly
// older than), on the newest time each source landed records — whether loads are arriving, not how old
// the clinical events in them are. A run that finds nothing new does not make a source fresh.
// The verdict is kept in the ledger so a change of state (pass → error) is seen once, not at every check.

import type { SourceConfig } from '../../core/config.ts';
import { freshnessStatus, type FreshnessRule } from '../../transforms/models/freshness.ts';
import type { FreshnessState, Ledger } from '../ledger/ledger.ts';

export interface SourceFreshness {
  source: string;
  /** The source's rule; null when it has none (then status is null too). */
  rule: FreshnessRule | null;
  status: FreshnessState | null;
  /** The newest time the source landed records, or null if it never has. */
  newestLandedAt: string | null;
  /** Whole seconds since then; null if it never landed. */
  ageSeconds: number | null;
}

/** Pure: each source's freshness at `now`, from the newest landing per source. */
export function evaluateFreshness(sources: readonly SourceConfig[], newestLandings: ReadonlyMap<string, string>, now: Date): SourceFreshness[] {
  return sources.map((source) => {
    const newestLandedAt = newestLandings.get(source.name) ?? null;
    const rule: FreshnessRule | null = source.freshness ? { warn_after: source.freshness.warn_after ?? null, error_after: source.freshness.error_after ?? null } : null;
    const ageSeconds = newestLandedAt === null ? null : Math.max(0, Math.round((now.getTime() - Date.parse(newestLandedAt)) / 1000));
    if (rule === null) return { source: source.name, rule, status: null, newestLandedAt, ageSeconds };
    const { status } = freshnessStatus(newestLandedAt === null ? null : new Date(newestLandedAt), now, rule);
    return { source: source.name, rule, status, newestLandedAt, ageSeconds };
  });
}

export interface FreshnessChange {
  freshness: SourceFreshness;
  /** The state recorded at the previous check; null at the first. */
  previous: FreshnessState | null;
}

/**
 * Checks every source with a rule, records the verdicts, and returns the sources whose state changed
 * since the last check (the first check counts as a change from nothing).
 */
export function checkFreshness(sources: readonly SourceConfig[], ledger: Ledger, now: Date): { all: SourceFreshness[]; changes: FreshnessChange[] } {
  const all = evaluateFreshness(sources, ledger.newestLandings(), now);
  const changes: FreshnessChange[] = [];
  for (const freshness of all) {
    if (freshness.status === null) continue;
    const previous = ledger.freshness(freshness.source)?.status ?? null;
    ledger.setFreshness({ source: freshness.source, status: freshness.status, checked_at: now.toISOString(), newest_landed_at: freshness.newestLandedAt, age_seconds: freshness.ageSeconds });
    if (previous !== freshness.status) changes.push({ freshness, previous });
  }
  return { all, changes };
}
