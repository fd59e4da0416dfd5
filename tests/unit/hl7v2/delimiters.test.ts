import { describe, expect, it } from 'vitest';
import { DEFAULT_HL7_DELIMITERS, parseHl7Delimiters } from '../../../pipelines/hl7v2/delimiters.ts';
import { Hl7ParseError } from '../../../pipelines/hl7v2/errors.ts';

describe('parseHl7Delimiters', () => {
  const accepted = [
    { description: 'the usual |^~\\& set', msh: 'MSH|^~\\&|APP', expected: DEFAULT_HL7_DELIMITERS },
    {
      description: 'v2.7 truncation character as a fifth encoding character (CDC ReportStream EHT sample)',
      msh: 'MSH|^~\\&#|LIFEPOINT',
      expected: { ...DEFAULT_HL7_DELIMITERS, truncation: '#' },
    },
    {
      description: 'non-standard field and component separators (python-hl7 nonstandard_separators)',
      msh: 'MSH$%~\\&$GHH LAB',
      expected: { field: '$', component: '%', repetition: '~', escape: '\\', subcomponent: '&', truncation: null },
    },
    {
      description: 'field, component and repetition separators swapped around (HAPI segmentfinder_a24)',
      msh: 'MSH^~|\\&^SENDING',
      expected: { field: '^', component: '~', repetition: '|', escape: '\\', subcomponent: '&', truncation: null },
    },
    {
      description: 'a non-default subcomponent separator (HAPI messages.txt)',
      msh: 'MSH|^~\\}|RADIOLOGY',
      expected: { ...DEFAULT_HL7_DELIMITERS, subcomponent: '}' },
    },
    { description: 'an MSH with nothing after MSH-2', msh: 'MSH|^~\\&', expected: DEFAULT_HL7_DELIMITERS },
  ];
  it.each(accepted)('$description', ({ msh, expected }) => {
    expect(parseHl7Delimiters(msh)).toEqual(expected);
  });

  const rejected = [
    { description: 'three encoding characters (HAPI messages_txt_04)', msh: 'MSH|^~}|ADMISSION', code: 'hl7.bad-delimiters', field: 'MSH-2', reason: /MSH-2 \(encoding characters\) has 3 characters/ },
    { description: 'one encoding character (DHCW sample wrapped by a PDF copy)', msh: 'MSH|^', code: 'hl7.bad-delimiters', field: 'MSH-2', reason: /has 1 character;/ },
    { description: 'six encoding characters', msh: 'MSH|^~\\&#!|X', code: 'hl7.bad-delimiters', field: 'MSH-2', reason: /has 6 characters/ },
    { description: 'no field separator at all', msh: 'MSH', code: 'hl7.bad-delimiters', field: 'MSH-1', reason: /MSH-1 \(field separator\) is missing/ },
    { description: 'a letter as field separator', msh: 'MSHX^~\\&X', code: 'hl7.bad-delimiters', field: 'MSH-1', reason: /'X', which cannot be a delimiter/ },
    { description: 'a space as field separator', msh: 'MSH ^~\\& A', code: 'hl7.bad-delimiters', field: 'MSH-1', reason: /' ', which cannot be a delimiter/ },
    { description: 'a digit as escape character', msh: 'MSH|^~1&|A', code: 'hl7.bad-delimiters', field: 'MSH-2', reason: /the escape character is '1'/ },
    { description: 'the same character twice', msh: 'MSH|^^\\&|A', code: 'hl7.bad-delimiters', field: 'MSH-2', reason: /repeat a character/ },
    { description: 'not an MSH segment', msh: 'PID|1', code: 'hl7.no-msh', field: null, reason: /not MSH/ },
  ];
  it.each(rejected)('rejects $description', ({ msh, code, field, reason }) => {
    let caught: unknown;
    try {
      parseHl7Delimiters(msh, { file: 'feed.hl7', offset: 120 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Hl7ParseError);
    const error = caught as Hl7ParseError;
    expect(error.code).toBe(code);
    expect(error.kind).toBe('parse');
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(reason);
    expect(error.message).toContain('at byte 120 of feed.hl7');
  });
});
