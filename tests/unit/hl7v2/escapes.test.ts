import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HL7_DELIMITERS, type Hl7Delimiters } from '../../../pipelines/hl7v2/delimiters.ts';
import { decodeHl7Text } from '../../../pipelines/hl7v2/escapes.ts';
import { hl7Field, hl7Repetitions, hl7SegmentField, hl7Segments } from '../../../pipelines/hl7v2/field.ts';
import { splitHl7Bytes } from '../../../pipelines/hl7v2/fileSplitter.ts';
import { parseHl7Message, parseRawHl7Message } from '../../../pipelines/hl7v2/message.ts';
import { describeWithShared } from '../../sharedData.ts';

const custom: Hl7Delimiters = { field: '$', component: '%', repetition: '*', escape: '!', subcomponent: '@', truncation: null };
const v27: Hl7Delimiters = { ...DEFAULT_HL7_DELIMITERS, truncation: '#' };

describe('decodeHl7Text', () => {
  const cases = [
    { description: 'plain text is returned unchanged', value: 'SMITH', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'SMITH' },
    { description: '\\F\\ is the field separator', value: 'A\\F\\B', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'A|B' },
    { description: '\\S\\ is the component separator (x10^9/L in DHCW pathology)', value: 'x10\\S\\9/L', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'x10^9/L' },
    { description: '\\T\\ is the subcomponent separator (A&E in FHIR-Converter samples)', value: 'inc.A\\T\\E-this Hosp', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'inc.A&E-this Hosp' },
    { description: '\\R\\ is the repetition separator', value: 'a\\R\\b', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'a~b' },
    { description: '\\E\\ is the escape character', value: 'C:\\E\\temp', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'C:\\temp' },
    { description: 'escapes map to the message’s own delimiters, not the defaults', value: 'a!F!b!S!c!T!d!R!e!E!f', delimiters: custom, expected: 'a$b%c@d*e!f' },
    { description: '\\P\\ is the v2.7 truncation character', value: 'long\\P\\', delimiters: v27, expected: 'long#' },
    { description: '\\P\\ is kept raw when MSH-2 declares no truncation character', value: 'long\\P\\', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'long\\P\\' },
    { description: '\\X..\\ hex bytes, latin1', value: 'caf\\XE9\\', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'café' },
    { description: '\\X..\\ hex bytes, several in one sequence', value: '\\X0D0A\\', delimiters: DEFAULT_HL7_DELIMITERS, expected: '\r\n' },
    { description: '\\X..\\ with an odd number of digits is kept raw', value: 'a\\X0D0\\b', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'a\\X0D0\\b' },
    { description: '\\.br\\ is a line break, twice in a row (ReportStream NTE)', value: 'one.\\.br\\\\.br\\two', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'one.\n\ntwo' },
    { description: '\\.sp 2\\ is two line breaks', value: 'a\\.sp 2\\b', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'a\n\nb' },
    { description: '\\.sk 3\\ is three spaces', value: 'a\\.sk 3\\b', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'a   b' },
    { description: 'layout-only commands are dropped', value: '\\.ce\\Title\\.in 4\\', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'Title' },
    { description: '\\H\\ and \\N\\ highlighting are dropped', value: 'a \\H\\bold\\N\\ word', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'a bold word' },
    { description: '\\Z..\\ local escapes are kept raw', value: 'x\\Zfoo\\y', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'x\\Zfoo\\y' },
    { description: 'an unknown escape is kept raw', value: 'x\\Q\\y', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'x\\Q\\y' },
    { description: 'an unterminated escape is kept raw', value: 'C:\\temp', delimiters: DEFAULT_HL7_DELIMITERS, expected: 'C:\\temp' },
    { description: 'an explicit null is not an escape and is left for the accessor', value: '""', delimiters: DEFAULT_HL7_DELIMITERS, expected: '""' },
  ];
  it.each(cases)('$description', ({ value, delimiters, expected }) => {
    expect(decodeHl7Text(value, delimiters)).toBe(expected);
  });

  it('decodes \\X..\\ bytes as UTF-8 when the message is UTF-8', () => {
    expect(decodeHl7Text('Zo\\XC3AB\\', DEFAULT_HL7_DELIMITERS, 'utf8')).toBe('Zoë');
  });
});

describe('hl7Field', () => {
  const message = parseHl7Message(
    [
      'MSH|^~\\&|PAS|RCB|ROUTE|ROUTE|201010101418||ADT^A01^ADT_A01|MSG0001|P|2.4',
      'PID|1||9434765919^^^NHS^NH~RCB123^^^RCB^MR||SMITH^JOHN^^^MR||19700101|""|||1 HIGH ST^^LEEDS^^LS1 1AA^GBR^H~^^^^^^""',
      'PV1|1|I|WARD1^BED2^^RCB&ODS&L||||||||||||||||V0001',
      'OBX|1|ST|CODE1||first',
      'OBX|2|ST|CODE2||second\\T\\third',
    ].join('\r'),
  );
  const cases = [
    { description: 'PID.3.1 is the first identifier of the first repetition', path: ['PID', 3] as const, expected: '9434765919' },
    { description: 'PID.3.5 is the identifier type code', path: ['PID', 3, 1, 5] as const, expected: 'NH' },
    { description: 'repetition 2 of PID-3 is the local MRN', path: ['PID', 3, 2, 1] as const, expected: 'RCB123' },
    { description: 'PID.5.2 is the given name', path: ['PID', 5, 1, 2] as const, expected: 'JOHN' },
    { description: 'an explicit null "" is null', path: ['PID', 8] as const, expected: null },
    { description: 'an explicit null inside a component is null', path: ['PID', 11, 2, 7] as const, expected: null },
    { description: 'an empty field is the empty string', path: ['PID', 2] as const, expected: '' },
    { description: 'a field beyond the end of the segment is the empty string', path: ['PID', 40] as const, expected: '' },
    { description: 'a repetition that does not exist is the empty string', path: ['PID', 3, 5] as const, expected: '' },
    { description: 'a missing segment is the empty string', path: ['NK1', 2] as const, expected: '' },
    { description: 'subcomponents: PV1.3.4.2', path: ['PV1', 3, 1, 4, 2] as const, expected: 'ODS' },
    { description: 'MSH-1 is the field separator itself', path: ['MSH', 1] as const, expected: '|' },
    { description: 'MSH-2 is the encoding characters, not split on ~', path: ['MSH', 2] as const, expected: '^~\\&' },
    { description: 'MSH-9.3 is the message structure', path: ['MSH', 9, 1, 3] as const, expected: 'ADT_A01' },
    { description: 'the first OBX is read by hl7Field', path: ['OBX', 5] as const, expected: 'first' },
  ];
  it.each(cases)('$description', ({ path, expected }) => {
    const [segment, field, repetition, component, subcomponent] = path as readonly [string, number, number?, number?, number?];
    expect(hl7Field(message, segment, field, repetition, component, subcomponent)).toBe(expected);
  });

  it('reads later repeats of a segment through hl7Segments and hl7SegmentField, decoding escapes', () => {
    const values = hl7Segments(message, 'OBX').map((obx) => hl7SegmentField(obx, message.delimiters, 5));
    expect(values).toEqual(['first', 'second&third']);
  });

  it('lists the raw repetitions of a field', () => {
    const pid = hl7Segments(message, 'PID')[0]!;
    expect(hl7Repetitions(pid, message.delimiters, 3)).toEqual(['9434765919^^^NHS^NH', 'RCB123^^^RCB^MR']);
    expect(hl7Repetitions(pid, message.delimiters, 2)).toEqual([]);
  });

  it('refuses 0-based positions', () => {
    expect(() => hl7Field(message, 'PID', 0)).toThrow(/1-based/);
    expect(() => hl7Field(message, 'PID', 3, 0)).toThrow(/repetition/);
  });
});

describeWithShared('hl7Field on real samples', (shared) => {
  const root = join(shared, 'data/hl7v2');
  const first = (file: string) => {
    const unit = splitHl7Bytes(readFileSync(join(root, file))).find((u) => u.kind === 'message');
    if (unit?.kind !== 'message') throw new Error(`${file} has no message`);
    return parseRawHl7Message(unit, file);
  };
  const cases = [
    { description: 'NHS number in PID-3 with a bare ^^^NHS (ITK A01)', file: 'virtually-healthcare-itk/A01_example.hl7', path: ['PID', 3, 1, 4], expected: 'NHS' },
    { description: 'retired identifier of a merge (ITK A40, MRG-1.4)', file: 'virtually-healthcare-itk/A40_Example.hl7', path: ['MRG', 1, 1, 4], expected: 'LOCALID' },
    { description: 'repetitions in PID-3 (python-hl7 sample_msh)', file: 'python-hl7/sample_msh.hl7', path: ['PID', 3, 2, 4], expected: 'MSH_EMPI' },
    { description: 'explicit null "" in PV1-9 (python-hl7 sample_msh)', file: 'python-hl7/sample_msh.hl7', path: ['PV1', 9], expected: null },
    { description: 'the field after an explicit null is read normally (python-hl7 sample_msh PV1-10)', file: 'python-hl7/sample_msh.hl7', path: ['PV1', 10], expected: 'NUR' },
    { description: 'repetition and component separators swapped (HAPI segmentfinder_a24)', file: 'hapi-hl7v2/segmentfinder_a24.hl7', path: ['PID', 3, 1, 4], expected: 'FOO' },
    { description: 'subcomponent under custom delimiters (HAPI segmentfinder_a24)', file: 'hapi-hl7v2/segmentfinder_a24.hl7', path: ['PID', 3, 1, 6, 2], expected: '200M' },
    { description: 'given name under custom delimiters (HAPI segmentfinder_a24)', file: 'hapi-hl7v2/segmentfinder_a24.hl7', path: ['PID', 5, 1, 2], expected: 'JOHN' },
    { description: '\\T\\ decoded at the leaf (FHIR-Converter ADT-A04-01 PV1-14)', file: 'ms-fhir-converter/ADT-A04-01.hl7', path: ['PV1', 14], expected: 'NHS Provider-General (inc.A&E-this Hosp)' },
  ] as const;
  it.each(cases)('$description', ({ file, path, expected }) => {
    const [segment, field, repetition, component, subcomponent] = path as readonly [string, number, number?, number?, number?];
    expect(hl7Field(first(file), segment, field, repetition, component, subcomponent)).toBe(expected);
  });

  it('turns \\.br\\ into line breaks in a real NTE (ReportStream FLFHospital)', () => {
    const note = hl7Field(first('cdc-reportstream/FLFHospital-SARSCOV2-20200317-0001.hl7'), 'NTE', 3);
    expect(note).toContain('epidemiological information.\n\nThis test has been author');
    expect(note).not.toContain('\\.br\\');
  });
});
