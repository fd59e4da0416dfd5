import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_GARBAGE_CHARS, splitHl7Bytes, splitHl7Stream, type RawHl7Unit } from '../../../pipelines/hl7v2/fileSplitter.ts';
import { describeWithShared } from '../../sharedData.ts';
import { bytes, splitAll } from './helpers.ts';

const msh = (id: string) => `MSH|^~\\&|PAS|RCB|ROUTE|RCB|20240101120000||ADT^A01^ADT_A01|${id}|P|2.4`;
const BOM = '\xef\xbb\xbf';
const VT = '\x0b';
const FS = '\x1c';

/** Byte offset of the n-th occurrence (0-based) of `needle` in `input`: the test strings are latin1. */
function offsetOf(input: string, needle: string, nth = 0): number {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = input.indexOf(needle, at + 1);
    if (at === -1) throw new Error(`'${needle}' occurs fewer than ${nth + 1} times`);
  }
  return at;
}

interface Expected {
  kind: RawHl7Unit['kind'];
  offset: number;
  text: string;
  batch?: { fileControlId?: string; batchControlId?: string };
  reason?: RegExp;
}

function shape(unit: RawHl7Unit): Expected {
  return {
    kind: unit.kind,
    offset: unit.offset,
    text: unit.text,
    ...(unit.kind === 'message' && unit.batch ? { batch: unit.batch } : {}),
  };
}

const cases: { description: string; input: string; expected: Expected[] }[] = (() => {
  const crInput = `${msh('1')}\rPID|1\r${msh('2')}\rPID|2\r`;
  const lfInput = `${msh('1')}\nPID|1\n${msh('2')}\nPID|2\n`;
  const crlfInput = `${msh('1')}\r\nPID|1\r\n\r\n${msh('2')}\r\nPID|2\r\n`;
  const mixedInput = `${msh('1')}\rPID|1\nPV1|1\r\n\n\n${msh('2')}\n\rPID|2`;
  const bomInput = `${BOM}${msh('1')}\r\nPID|1\r\n`;
  const mllpInput = `${VT}${msh('1')}\rPID|1\r${FS}\r${VT}${msh('2')}\rPID|2\r${FS}\r`;
  const junkInput = `export of 2 messages\n\n${msh('1')}\nPID|1\n`;
  const mllpJunkInput = `${VT}${msh('1')}\rPID|1\r${FS}\rnoise\r${VT}${msh('2')}\r${FS}\r`;
  const batchInput = [
    'FHS|^~\\&|APP|FAC|||20240101||||FILE-7',
    'BHS|^~\\&|APP|FAC|||20240101||||BATCH-1',
    msh('1'),
    'PID|1',
    'BTS|1',
    'FTS|1',
    msh('2'),
  ].join('\n');
  const whitespaceInput = `   \n${msh('1')}\r \t \rPID|1\r`;
  return [
    {
      description: 'CR-separated messages (as on the wire)',
      input: crInput,
      expected: [
        { kind: 'message', offset: 0, text: `${msh('1')}\rPID|1` },
        { kind: 'message', offset: offsetOf(crInput, 'MSH', 1), text: `${msh('2')}\rPID|2` },
      ],
    },
    {
      description: 'LF-separated messages (as stored in most repositories)',
      input: lfInput,
      expected: [
        { kind: 'message', offset: 0, text: `${msh('1')}\rPID|1` },
        { kind: 'message', offset: offsetOf(lfInput, 'MSH', 1), text: `${msh('2')}\rPID|2` },
      ],
    },
    {
      description: 'CRLF with a blank line between messages',
      input: crlfInput,
      expected: [
        { kind: 'message', offset: 0, text: `${msh('1')}\rPID|1` },
        { kind: 'message', offset: offsetOf(crlfInput, 'MSH', 1), text: `${msh('2')}\rPID|2` },
      ],
    },
    {
      description: 'mixed CR, LF, CRLF and LFCR with blank lines and no final terminator',
      input: mixedInput,
      expected: [
        { kind: 'message', offset: 0, text: `${msh('1')}\rPID|1\rPV1|1` },
        { kind: 'message', offset: offsetOf(mixedInput, 'MSH', 1), text: `${msh('2')}\rPID|2` },
      ],
    },
    {
      description: 'a UTF-8 BOM is skipped and the offset counts its 3 bytes',
      input: bomInput,
      expected: [{ kind: 'message', offset: 3, text: `${msh('1')}\rPID|1` }],
    },
    {
      description: 'MLLP framing: VT before and FS CR after each message',
      input: mllpInput,
      expected: [
        { kind: 'message', offset: 1, text: `${msh('1')}\rPID|1` },
        { kind: 'message', offset: offsetOf(mllpInput, 'MSH', 1), text: `${msh('2')}\rPID|2` },
      ],
    },
    {
      description: 'text before the first MSH is garbage, with its offset',
      input: junkInput,
      expected: [
        { kind: 'garbage', offset: 0, text: 'export of 2 messages', reason: /before the first MSH/ },
        { kind: 'message', offset: offsetOf(junkInput, 'MSH'), text: `${msh('1')}\rPID|1` },
      ],
    },
    {
      description: 'text between MLLP blocks is garbage and does not join a message',
      input: mllpJunkInput,
      expected: [
        { kind: 'message', offset: 1, text: `${msh('1')}\rPID|1` },
        { kind: 'garbage', offset: offsetOf(mllpJunkInput, 'noise'), text: 'noise', reason: /end of an MLLP block/ },
        { kind: 'message', offset: offsetOf(mllpJunkInput, 'MSH', 1), text: msh('2') },
      ],
    },
    {
      description: 'FHS/BHS/BTS/FTS are separate units and give messages their control ids',
      input: batchInput,
      expected: [
        { kind: 'FHS', offset: 0, text: 'FHS|^~\\&|APP|FAC|||20240101||||FILE-7' },
        { kind: 'BHS', offset: offsetOf(batchInput, 'BHS'), text: 'BHS|^~\\&|APP|FAC|||20240101||||BATCH-1' },
        { kind: 'message', offset: offsetOf(batchInput, 'MSH'), text: `${msh('1')}\rPID|1`, batch: { fileControlId: 'FILE-7', batchControlId: 'BATCH-1' } },
        { kind: 'BTS', offset: offsetOf(batchInput, 'BTS'), text: 'BTS|1' },
        { kind: 'FTS', offset: offsetOf(batchInput, 'FTS'), text: 'FTS|1' },
        { kind: 'message', offset: offsetOf(batchInput, 'MSH', 1), text: msh('2') },
      ],
    },
    {
      description: 'a wrapped line starting with "MSH " or "BTS " stays in its message (a separator is never a space)',
      input: `${msh('1')}\nNTE|1||see the\nMSH guidance and\nBTS protocol\n`,
      expected: [{ kind: 'message', offset: 0, text: `${msh('1')}\rNTE|1||see the\rMSH guidance and\rBTS protocol` }],
    },
    {
      description: 'whitespace-only lines are skipped, inside and outside messages',
      input: whitespaceInput,
      expected: [{ kind: 'message', offset: offsetOf(whitespaceInput, 'MSH'), text: `${msh('1')}\rPID|1` }],
    },
  ];
})();

describe('splitHl7Stream', () => {
  describe.each(cases)('$description', ({ input, expected }) => {
    it.each([1, 2, 7, 64, 65_536])('gives the same units with %i-byte chunks', async (chunkSize) => {
      const units = await splitAll(bytes(input), chunkSize);
      expect(units.map(shape)).toEqual(expected.map(({ reason: _reason, ...rest }) => rest));
      expected.forEach((want, i) => {
        const unit = units[i]!;
        if (want.reason) expect(unit.kind === 'garbage' && unit.reason).toMatch(want.reason);
      });
    });

    it('gives each unit a length that spans exactly its bytes in the file', () => {
      for (const unit of splitHl7Bytes(bytes(input))) {
        const span = input.slice(unit.offset, unit.offset + unit.length);
        const segments = span.split(/[\r\n]/).filter((line) => /\S/.test(line));
        expect(segments.join('\r')).toBe(unit.text);
      }
    });
  });

  it('streams many messages without holding them all', async () => {
    const COUNT = 5_000;
    async function* feed(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < COUNT; i++) yield bytes(`${msh(String(i))}\r\nPID|${i}\r\n`);
    }
    let messages = 0;
    let lastOffset = -1;
    for await (const unit of splitHl7Stream(feed())) {
      expect(unit.kind).toBe('message');
      expect(unit.offset).toBeGreaterThan(lastOffset);
      lastOffset = unit.offset;
      messages += 1;
    }
    expect(messages).toBe(COUNT);
  });

  it('cuts long runs of garbage into bounded units', () => {
    const line = 'x'.repeat(1000);
    const lines = Math.ceil((MAX_GARBAGE_CHARS * 2.5) / line.length);
    const units = splitHl7Bytes(bytes(Array.from({ length: lines }, () => line).join('\n')));
    expect(units.length).toBe(3);
    expect(units.every((unit) => unit.kind === 'garbage' && unit.text.length <= MAX_GARBAGE_CHARS + line.length)).toBe(true);
  });
});

describeWithShared('splitHl7Stream on real files', (shared) => {
  const root = join(shared, 'data/hl7v2');
  const cases = [
    { description: 'FHIR-Converter sample with a UTF-8 BOM starts at byte 3', file: 'ms-fhir-converter/ADT01-23.hl7', kinds: ['message'], offsets: [3] },
    { description: 'python-hl7 sample_file1: two batches, three messages, CR-separated', file: 'python-hl7/sample_file1.hl7', kinds: ['FHS', 'BHS', 'message', 'message', 'BTS', 'BHS', 'message', 'BTS', 'FTS'], offsets: [0, 67, 132, 412, 692, 698, 763, 1043, 1049] },
    { description: 'python-hl7 sample_bad_batch: segments after BHS without an MSH are garbage', file: 'python-hl7/sample_bad_batch.hl7', kinds: ['BHS', 'garbage', 'BTS'], offsets: [0, 65, 250] },
    { description: 'HAPI segmentfinder_a24: CRLF line ends and a custom field separator', file: 'hapi-hl7v2/segmentfinder_a24.hl7', kinds: ['message'], offsets: [0] },
  ];
  it.each(cases)('$description', ({ file, kinds, offsets }) => {
    const data = readFileSync(join(root, file));
    const units = splitHl7Bytes(data);
    expect(units.map((unit) => unit.kind)).toEqual(kinds);
    expect(units.map((unit) => unit.offset)).toEqual(offsets);
    for (const unit of units) {
      const first = unit.text.split('\r')[0]!;
      expect(data.subarray(unit.offset, unit.offset + first.length).toString('latin1')).toBe(first);
    }
  });

  it('carries BHS-11 control ids onto the messages of each batch (python-hl7 sample_file1; its FHS-11 is empty)', () => {
    const units = splitHl7Bytes(readFileSync(join(root, 'python-hl7/sample_file1.hl7')));
    const batches = units.flatMap((unit) => (unit.kind === 'message' ? [unit.batch] : []));
    expect(batches).toEqual([
      { batchControlId: 'abchs20070101123401-1' },
      { batchControlId: 'abchs20070101123401-1' },
      { batchControlId: 'abchs20070101123401-2' },
    ]);
  });
});
