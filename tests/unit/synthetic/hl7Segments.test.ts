import { describe, expect, it } from 'vitest';
import { components, escapeText, headerSegment, repetitions, segment } from '../../../synthetic/hl7Segments.ts';
import { EventQueue } from '../../../synthetic/eventQueue.ts';

describe('escapeText', () => {
  const cases = [
    { description: 'ampersand (subcomponent separator)', input: "c/o O'Neil & Sons", expected: "c/o O'Neil \\T\\ Sons" },
    { description: 'field separator', input: 'A|B', expected: 'A\\F\\B' },
    { description: 'component separator', input: 'A^B', expected: 'A\\S\\B' },
    { description: 'repetition separator', input: 'A~B', expected: 'A\\R\\B' },
    { description: 'escape character first, so escapes are not doubled', input: 'Flat 2\\1 & Co', expected: 'Flat 2\\E\\1 \\T\\ Co' },
    { description: 'plain text and Latin-1 letters untouched', input: 'Siân Ó Briain', expected: 'Siân Ó Briain' },
  ];
  it.each(cases)('escapes $description', ({ input, expected }) => expect(escapeText(input)).toBe(expected));
});

describe('segment building', () => {
  const cases = [
    { description: 'fields by number, gaps left empty', actual: () => segment('PV1', { 1: '1', 2: 'I', 19: 'V1' }), expected: `PV1|1|I${'|'.repeat(16)}|V1\r` },
    { description: 'trailing empty fields dropped', actual: () => segment('PID', { 1: '1', 3: 'X', 32: '' }), expected: 'PID|1||X\r' },
    { description: 'components escaped and trailing empties dropped', actual: () => components('A&B', null, 'C', null, ''), expected: 'A\\T\\B^^C' },
    { description: 'empty repetitions left out', actual: () => repetitions('A^^^RX1^MR', ''), expected: 'A^^^RX1^MR' },
    { description: 'MSH numbering starts after the encoding characters', actual: () => headerSegment('MSH', { 3: 'PAS', 9: 'ADT^A01^ADT_A01', 12: '2.4' }), expected: 'MSH|^~\\&|PAS||||||ADT^A01^ADT_A01|||2.4\r' },
  ];
  it.each(cases)('$description', ({ actual, expected }) => expect(actual()).toBe(expected));
});

describe('EventQueue', () => {
  it('releases events in time order, ties in scheduling order, only before the limit', () => {
    const queue = new EventQueue<{ at: number; order: number; name: string }>();
    const events = [
      { at: 5, order: 0, name: 'e' },
      { at: 1, order: 1, name: 'a' },
      { at: 3, order: 2, name: 'c1' },
      { at: 3, order: 3, name: 'c2' },
      { at: 9, order: 4, name: 'z' },
      { at: 2, order: 5, name: 'b' },
    ];
    for (const e of events) queue.push(e);
    const out: string[] = [];
    for (let e = queue.popBefore(6); e; e = queue.popBefore(6)) out.push(e.name);
    expect(out).toEqual(['a', 'b', 'c1', 'c2', 'e']);
    expect(queue.size).toBe(1);
    expect(queue.popBefore(Number.POSITIVE_INFINITY)?.name).toBe('z');
  });
});
