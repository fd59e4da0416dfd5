import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hl7BatchReconciler, type Hl7BatchReport } from '../../../pipelines/hl7v2/batch.ts';
import { splitHl7Bytes } from '../../../pipelines/hl7v2/fileSplitter.ts';
import { describeWithShared } from '../../sharedData.ts';
import { bytes } from './helpers.ts';

function reconcile(data: Uint8Array): Hl7BatchReport {
  const reconciler = new Hl7BatchReconciler();
  for (const unit of splitHl7Bytes(data)) reconciler.add(unit);
  return reconciler.finish();
}

type Summary = { batches: number; messages: number; discrepancies: { segment: 'BTS' | 'FTS'; declared: number | null; actual: number }[] };

function summary(report: Hl7BatchReport): Summary {
  return {
    batches: report.batches,
    messages: report.messages,
    discrepancies: report.discrepancies.map(({ segment, declared, actual }) => ({ segment, declared, actual })),
  };
}

describe('Hl7BatchReconciler', () => {
  const msh = (id: string) => `MSH|^~\\&|A|B|C|D|20240101||ADT^A01|${id}|P|2.4`;
  const cases: { description: string; lines: string[]; expected: Summary }[] = [
    { description: 'a plain file of messages has no batches and nothing to check', lines: [msh('1'), msh('2')], expected: { batches: 0, messages: 2, discrepancies: [] } },
    { description: 'BHS … BTS with the right count', lines: ['BHS|^~\\&', msh('1'), msh('2'), 'BTS|2'], expected: { batches: 1, messages: 2, discrepancies: [] } },
    { description: 'BTS-1 too high', lines: ['BHS|^~\\&', msh('1'), 'BTS|3'], expected: { batches: 1, messages: 1, discrepancies: [{ segment: 'BTS', declared: 3, actual: 1 }] } },
    { description: 'FTS-1 disagrees with the batches in the file', lines: ['FHS|^~\\&', 'BHS|^~\\&', msh('1'), 'BTS|1', 'BHS|^~\\&', msh('2'), 'BTS|1', 'FTS|1'], expected: { batches: 2, messages: 2, discrepancies: [{ segment: 'FTS', declared: 1, actual: 2 }] } },
    { description: 'messages in an FHS without BHS form one implicit batch', lines: ['FHS|^~\\&', msh('1'), msh('2'), 'FTS|1'], expected: { batches: 1, messages: 2, discrepancies: [] } },
    { description: 'a BTS without BHS closes an implicit batch', lines: [msh('1'), 'BTS|1'], expected: { batches: 1, messages: 1, discrepancies: [] } },
    { description: 'an empty BTS-1 is not checked (it is optional)', lines: ['BHS|^~\\&', msh('1'), 'BTS|'], expected: { batches: 1, messages: 1, discrepancies: [] } },
    { description: 'a non-numeric BTS-1 is a discrepancy with declared null', lines: ['BHS|^~\\&', msh('1'), 'BTS|one'], expected: { batches: 1, messages: 1, discrepancies: [{ segment: 'BTS', declared: null, actual: 1 }] } },
    { description: 'an empty batch reconciles with BTS|0', lines: ['FHS|^~\\&', 'BHS|^~\\&', 'BTS|0', 'FTS|1'], expected: { batches: 1, messages: 0, discrepancies: [] } },
  ];
  it.each(cases)('$description', ({ lines, expected }) => {
    expect(summary(reconcile(bytes(lines.join('\r'))))).toEqual(expected);
  });

  it('reports where the trailer is and why it disagrees', () => {
    const input = ['BHS|^~\\&', msh('1'), 'BTS|2'].join('\r');
    const [discrepancy] = reconcile(bytes(input)).discrepancies;
    expect(discrepancy).toEqual({ segment: 'BTS', offset: input.indexOf('BTS'), declared: 2, actual: 1, reason: 'BTS-1 declares 2 but the file held 1 messages in its batch' });
  });

  it('refuses units after finish()', () => {
    const reconciler = new Hl7BatchReconciler();
    reconciler.finish();
    expect(() => reconciler.add({ kind: 'BTS', offset: 0, length: 5, text: 'BTS|0' })).toThrow(/after finish/);
  });
});

describeWithShared('Hl7BatchReconciler on real batch files', (shared) => {
  const root = join(shared, 'data/hl7v2');
  const cases: { description: string; file: string; expected: Summary }[] = [
    { description: 'ReportStream covid file declares BTS|25 but holds 20 messages', file: 'cdc-reportstream/test-0001-input-covid-19.hl7', expected: { batches: 1, messages: 20, discrepancies: [{ segment: 'BTS', declared: 25, actual: 20 }] } },
    { description: 'ReportStream PDI batch of 20 reconciles', file: 'cdc-reportstream/sample-batch-pdi-20210608-0001.hl7', expected: { batches: 1, messages: 20, discrepancies: [] } },
    { description: 'ReportStream batch_message (LF) of 2 reconciles', file: 'cdc-reportstream/batch_message.hl7', expected: { batches: 1, messages: 2, discrepancies: [] } },
    { description: 'python-hl7 sample_file1: 2 batches, 3 messages', file: 'python-hl7/sample_file1.hl7', expected: { batches: 2, messages: 3, discrepancies: [] } },
    { description: 'python-hl7 sample_file2: FHS without BHS', file: 'python-hl7/sample_file2.hl7', expected: { batches: 1, messages: 2, discrepancies: [] } },
    { description: 'python-hl7 sample_file6: FHS, MSH, BTS, FTS', file: 'python-hl7/sample_file6.hl7', expected: { batches: 1, messages: 1, discrepancies: [] } },
    { description: 'python-hl7 sample_batch4: MSH then BTS, no headers', file: 'python-hl7/sample_batch4.hl7', expected: { batches: 1, messages: 1, discrepancies: [] } },
    { description: 'python-hl7 sample_batch2: no batch segments at all', file: 'python-hl7/sample_batch2.hl7', expected: { batches: 0, messages: 2, discrepancies: [] } },
    { description: 'python-hl7 sample_bad_batch: BTS|1 over a batch with no MSH', file: 'python-hl7/sample_bad_batch.hl7', expected: { batches: 1, messages: 0, discrepancies: [{ segment: 'BTS', declared: 1, actual: 0 }] } },
    { description: 'python-hl7 sample_bad_file1: second BHS inside a batch', file: 'python-hl7/sample_bad_file1.hl7', expected: { batches: 2, messages: 1, discrepancies: [{ segment: 'BTS', declared: 1, actual: 0 }, { segment: 'FTS', declared: 1, actual: 2 }] } },
    { description: 'python-hl7 sample_bad_file3: FHS with segments but no MSH', file: 'python-hl7/sample_bad_file3.hl7', expected: { batches: 0, messages: 0, discrepancies: [{ segment: 'FTS', declared: 1, actual: 0 }] } },
  ];
  it.each(cases)('$description', ({ file, expected }) => {
    expect(summary(reconcile(readFileSync(join(root, file))))).toEqual(expected);
  });
});
