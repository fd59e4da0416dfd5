// What a source kind provides to the run: the files it offers now, and how one file's records land.
// Everything else — ledger, idempotency, quarantine, Parquet, counts — is the run's job, the same for
// every kind.

import type { Logger } from 'pino';
import type { SourceConfig, SourceKind } from '../../core/config.ts';
import type { LakeLayout } from '../../core/lake.ts';
import type { FileLanding, Reconciliation, SourceFile } from '../landing/fileLanding.ts';

export interface Connector {
  /** The files on offer, in the order they must land (e.g. ESR sequence order). Fails before any run starts. */
  listFiles(): Promise<SourceFile[]>;
  /** Parses one file into `landing`; returns count discrepancies (trailers, manifests) to record. */
  land(file: SourceFile, landing: FileLanding): Promise<Reconciliation[]>;
}

export interface ConnectorContext {
  layout: LakeLayout;
  logger: Logger;
}

export type ConnectorFactory<K extends SourceKind> = (source: Extract<SourceConfig, { kind: K }>, ctx: ConnectorContext) => Connector;
