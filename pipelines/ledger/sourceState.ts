// A source's own durable state, kept in the ledger's watermarks table: a Bulk Data job in flight
// (for resume), the last export's transactionTime (for `_since`), and which file locations landed.
// The ledger is opened on first use, so a source that never needs state writes nothing.

import type { Ledger } from './ledger.ts';

export interface SourceState {
  get(key: string): string | undefined;
  /** `runId` names the run that set it, when a run did. */
  set(key: string, value: string, runId?: string): void;
  delete(key: string): void;
  /** A file at this location (path or URL) already has a final outcome for this source. */
  hasLanded(location: string): boolean;
  /** Locations of this source's files whose records landed (not those quarantined whole). */
  landedLocations(): string[];
  /** A file of this size at this location already has a final outcome: the same file, seen before. */
  hasFinalFile(location: string, bytes: number): boolean;
}

export class LedgerSourceState implements SourceState {
  constructor(
    private readonly source: string,
    private readonly ledger: () => Ledger,
  ) {}

  get(key: string): string | undefined {
    return this.ledger().watermark(this.source, key);
  }

  set(key: string, value: string, runId = ''): void {
    this.ledger().setWatermark(this.source, key, value, runId);
  }

  delete(key: string): void {
    this.ledger().deleteWatermark(this.source, key);
  }

  hasLanded(location: string): boolean {
    return this.ledger().fileAt(this.source, location) !== undefined;
  }

  hasFinalFile(location: string, bytes: number): boolean {
    return this.ledger().fileAt(this.source, location, bytes) !== undefined;
  }

  landedLocations(): string[] {
    return this.ledger()
      .files(this.source)
      .filter((f) => f.status === 'landed')
      .map((f) => f.location);
  }
}
