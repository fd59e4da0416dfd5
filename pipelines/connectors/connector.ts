// What a source kind provides to the run: the files it offers now, and how one file's records land.
// Everything else — ledger, idempotency, quarantine, Parquet, counts — is the run's job, the same for
// every kind.

import type { Logger } from 'pino';
import type { SourceConfig, SourceKind } from '../../core/config.ts';
import type { LakeLayout } from '../../core/lake.ts';
import type { FileLanding, FileOutcome, Reconciliation, SourceFile } from '../landing/fileLanding.ts';
import type { SourceState } from '../ledger/sourceState.ts';
import type { RunWindow } from '../runs/runWindow.ts';

export interface Connector {
  /**
   * True when listing talks to a server and may take long (a Bulk Data export): it then happens
   * inside the run, so a failure is recorded on the run. Local kinds list before the run starts, so
   * a missing folder or unreadable file fails with the lake untouched.
   */
  readonly remote?: boolean;
  /**
   * How many of this source's files may land at once (default 1: in order). Only for sources whose
   * files are independent of each other, such as the files of one Bulk Data export.
   */
  readonly landConcurrency?: number;
  /** The files on offer, in the order they must land (e.g. ESR sequence order). */
  listFiles(): Promise<SourceFile[]>;
  /**
   * Remote connectors may offer files as they arrive (downloads finishing in any order), so landing
   * one file overlaps fetching the next; runs use this in place of listFiles when present.
   */
  streamFiles?(): AsyncIterable<SourceFile>;
  /** Parses one file into `landing`; returns count discrepancies (trailers, manifests) to record. */
  land(file: SourceFile, landing: FileLanding): Promise<Reconciliation[]>;
  /** After every offered file has landed (or was already landed): commit watermarks, release remote jobs. */
  finish?(run: { runId: string; files: FileOutcome[]; skipped: SourceFile[] }): Promise<void>;
}

export interface ConnectorContext {
  layout: LakeLayout;
  logger: Logger;
  /** Durable per-source state (resume points, watermarks); local file kinds never need it. */
  state: SourceState;
  /** Live progress for a person watching (e.g. a server's X-Progress while an export is prepared). */
  progress?: (text: string) => void;
  /** A backfill: offer only what falls inside this window, and leave incremental watermarks alone. */
  window?: RunWindow;
}

export type ConnectorFactory<K extends SourceKind> = (source: Extract<SourceConfig, { kind: K }>, ctx: ConnectorContext) => Connector;
