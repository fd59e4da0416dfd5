// Reconciles HL7 v2 batch trailers with what the file really held. Grammar:
// `[FHS] { [BHS] { MSH … } [BTS] } [FTS]`; BTS-1 declares the messages in its batch and FTS-1 the batches
// in its file. A disagreement does not stop the file landing — it is recorded as a discrepancy.
//
// Counting rules (the trailers are often sent without their headers, and HL7 UK files without either):
// - a batch opens at BHS, or implicitly at the first message (or BTS) outside an open batch;
// - it closes at BTS, or implicitly at the next BHS, FHS, FTS or the end of the input;
// - an implicit batch counts as a batch when it is closed by BTS or FTS or sits inside an FHS file,
//   so a plain file of messages reports 0 batches while `FHS MSH MSH FTS|1` reconciles;
// - every message unit counts, whether or not it later parses: the trailer counts what was sent;
// - an empty BTS-1/FTS-1 (both optional) is not checked; a non-numeric one is a discrepancy with
//   `declared: null`.

import { CarelakeError } from '../../core/errors.ts';
import type { RawHl7Unit } from './fileSplitter.ts';

export interface Hl7BatchDiscrepancy {
  segment: 'BTS' | 'FTS';
  /** Byte offset of the trailer segment. */
  offset: number;
  /** BTS-1 / FTS-1 as a number, or null when it is not a whole number. */
  declared: number | null;
  actual: number;
  reason: string;
}

export interface Hl7BatchReport {
  batches: number;
  messages: number;
  discrepancies: Hl7BatchDiscrepancy[];
}

interface OpenBatch {
  explicit: boolean;
  messages: number;
}

/** Field 1 of a BTS/FTS segment: empty → undefined (not checked), whole number → number, else null. */
function trailerCount(text: string): number | null | undefined {
  const separator = text.charAt(3);
  const value = separator === '' ? '' : (text.split(separator)[1] ?? '').trim();
  if (value === '') return undefined;
  return /^\d+$/.test(value) ? Number(value) : null;
}

export class Hl7BatchReconciler {
  private batches = 0;
  private messages = 0;
  private readonly discrepancies: Hl7BatchDiscrepancy[] = [];
  private inFile = false;
  /** Batches counted since the last FHS/FTS, for FTS-1. */
  private fileBatches = 0;
  private batch: OpenBatch | null = null;
  private finished = false;

  add(unit: RawHl7Unit): void {
    if (this.finished) {
      throw new CarelakeError({ code: 'hl7.reconciler-finished', kind: 'internal', message: 'Hl7BatchReconciler.add() was called after finish(); use a new reconciler per file' });
    }
    switch (unit.kind) {
      case 'message':
        this.messages += 1;
        this.batch ??= { explicit: false, messages: 0 };
        this.batch.messages += 1;
        return;
      case 'FHS':
        this.closeBatch(false);
        this.inFile = true;
        this.fileBatches = 0;
        return;
      case 'BHS':
        this.closeBatch(false);
        this.batch = { explicit: true, messages: 0 };
        return;
      case 'BTS': {
        const batch = this.batch ?? { explicit: false, messages: 0 };
        this.batch = batch;
        this.closeBatch(true);
        this.check('BTS', unit.offset, trailerCount(unit.text), batch.messages, 'messages in its batch');
        return;
      }
      case 'FTS':
        this.closeBatch(true);
        this.check('FTS', unit.offset, trailerCount(unit.text), this.fileBatches, 'batches in its file');
        this.inFile = false;
        this.fileBatches = 0;
        return;
      case 'garbage':
        return;
    }
  }

  finish(): Hl7BatchReport {
    if (!this.finished) {
      this.closeBatch(false);
      this.finished = true;
    }
    return { batches: this.batches, messages: this.messages, discrepancies: [...this.discrepancies] };
  }

  private closeBatch(byTrailer: boolean): void {
    const batch = this.batch;
    if (batch === null) return;
    this.batch = null;
    if (batch.explicit || byTrailer || this.inFile) {
      this.batches += 1;
      this.fileBatches += 1;
    }
  }

  private check(segment: 'BTS' | 'FTS', offset: number, declared: number | null | undefined, actual: number, what: string): void {
    if (declared === undefined || declared === actual) return;
    const reason =
      declared === null
        ? `${segment}-1 is not a whole number; the file held ${actual} ${what}`
        : `${segment}-1 declares ${declared} but the file held ${actual} ${what}`;
    this.discrepancies.push({ segment, offset, declared, actual, reason });
  }
}
