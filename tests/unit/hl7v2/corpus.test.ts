// Walks every real HL7 v2 sample under shared/data/hl7v2 (except the .md notes): each unit must either
// parse or be rejected with a specific Hl7ParseError — never crash — and the deliberately malformed
// samples must be rejected for the reason we expect, so a change in behaviour shows up here.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { Hl7BatchReconciler } from '../../../pipelines/hl7v2/batch.ts';
import { Hl7ParseError, type Hl7ParseErrorCode } from '../../../pipelines/hl7v2/errors.ts';
import { splitHl7Stream } from '../../../pipelines/hl7v2/fileSplitter.ts';
import { parseRawHl7Message } from '../../../pipelines/hl7v2/message.ts';
import { describeWithShared } from '../../sharedData.ts';
import { chunked } from './helpers.ts';

const KNOWN_CODES: readonly Hl7ParseErrorCode[] = [
  'hl7.empty',
  'hl7.no-msh',
  'hl7.bad-delimiters',
  'hl7.bad-segment-id',
  'hl7.second-msh',
  'hl7.missing-message-type',
  'hl7.missing-control-id',
];

/** Files whose messages we reject, and why. Every other file must parse completely. */
const EXPECTED_REJECTIONS: Record<string, string[]> = {
  'hapi-hl7v2/messages_txt_04_BAR-P01.hl7': ['hl7.bad-delimiters'],
  'hapi-hl7v2/example_oml_o21.hl7': ['hl7.missing-control-id', 'hl7.missing-control-id'],
  'python-hl7/nonstandard_separators.hl7': ['hl7.missing-message-type'],
  'virtually-healthcare-itk/DHCW-Example-Pathology-Report-HL7v2ORU.hl7': ['hl7.bad-delimiters'],
  'virtually-healthcare-itk/DHCW-Example-PathologyReport-withAttachementsAndRanges-HL7v2ORU.hl7': ['hl7.bad-delimiters'],
};

function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return listFiles(path);
      return name.endsWith('.md') ? [] : [path];
    });
}

describeWithShared('every real HL7 v2 sample', (shared) => {
  const root = join(shared, 'data/hl7v2');
  const files = listFiles(root).map((path) => relative(root, path));

  it('finds the sample corpus', () => {
    expect(files.length).toBeGreaterThan(200);
  });

  it.each(files)('%s: every unit parses or is rejected with a specific reason', async (file) => {
    const data = readFileSync(join(root, file));
    const rejections: string[] = [];
    const reconciler = new Hl7BatchReconciler();
    let lastOffset = -1;
    for await (const unit of splitHl7Stream(chunked(data, 4096))) {
      reconciler.add(unit);
      expect(unit.offset).toBeGreaterThan(lastOffset);
      lastOffset = unit.offset;
      expect(unit.offset + unit.length).toBeLessThanOrEqual(data.length);
      if (unit.kind === 'garbage') {
        expect(unit.reason).not.toBe('');
        continue;
      }
      // Every non-garbage unit starts at its segment id in the file.
      expect(data.subarray(unit.offset, unit.offset + 3).toString('latin1')).toBe(unit.kind === 'message' ? 'MSH' : unit.kind);
      if (unit.kind !== 'message') continue;
      try {
        const parsed = parseRawHl7Message(unit, file);
        expect(parsed.header.controlId).not.toBe('');
        expect(parsed.segments[0]!.id).toBe('MSH');
      } catch (err) {
        expect(err).toBeInstanceOf(Hl7ParseError);
        const error = err as Hl7ParseError;
        expect(KNOWN_CODES).toContain(error.code);
        expect(error.reason.length).toBeGreaterThan(10);
        expect(error.offset).toBe(unit.offset);
        rejections.push(error.code);
      }
    }
    expect(() => reconciler.finish()).not.toThrow();
    expect(rejections).toEqual(EXPECTED_REJECTIONS[file] ?? []);
  });
});
