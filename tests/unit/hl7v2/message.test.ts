import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hl7ParseError } from '../../../pipelines/hl7v2/errors.ts';
import { splitHl7Bytes, type RawHl7Message } from '../../../pipelines/hl7v2/fileSplitter.ts';
import { parseHl7Message, parseRawHl7Message, type Hl7Header } from '../../../pipelines/hl7v2/message.ts';
import { describeWithShared } from '../../sharedData.ts';
import { bytes } from './helpers.ts';

const MSH = 'MSH|^~\\&|PAS|RCB|ROUTE|RCB|20240101120000||ADT^A01^ADT_A01|MSG1|P|2.4';

function rejection(text: string, origin?: { file: string; offset: number }): Hl7ParseError {
  try {
    parseHl7Message(text, origin);
  } catch (err) {
    if (err instanceof Hl7ParseError) return err;
    throw err;
  }
  throw new Error('expected the message to be rejected');
}

describe('parseHl7Message', () => {
  it('numbers fields as HL7 does, including MSH-1 and MSH-2', () => {
    const { segments } = parseHl7Message(`${MSH}\rPID|1||123^^^RCB^MR`);
    expect(segments[0]!.fields.slice(0, 4)).toEqual(['MSH', '|', '^~\\&', 'PAS']);
    expect(segments[0]!.fields[9]).toBe('ADT^A01^ADT_A01');
    expect(segments[1]).toEqual({ id: 'PID', fields: ['PID', '1', '', '123^^^RCB^MR'] });
  });

  it('keeps fields raw: escapes are decoded only by the accessors', () => {
    const { segments } = parseHl7Message(`${MSH}\rNTE|1||A\\T\\E`);
    expect(segments[1]!.fields[3]).toBe('A\\T\\E');
  });

  it('keeps Z-segments', () => {
    const { segments } = parseHl7Message(`${MSH}\rPID|1\rZU1|1|X\rZ99|2`);
    expect(segments.map((segment) => segment.id)).toEqual(['MSH', 'PID', 'ZU1', 'Z99']);
  });

  it('accepts LF and CRLF between segments as well as CR', () => {
    expect(parseHl7Message(`${MSH}\nPID|1\r\nPV1|1\n`).segments.map((segment) => segment.id)).toEqual(['MSH', 'PID', 'PV1']);
  });

  const headers: { description: string; text: string; expected: Partial<Hl7Header> }[] = [
    {
      description: 'the usual header values',
      text: MSH,
      expected: {
        controlId: 'MSG1',
        messageType: 'ADT',
        triggerEvent: 'A01',
        structure: 'ADT_A01',
        version: '2.4',
        sendingApplication: 'PAS',
        sendingFacility: 'RCB',
        receivingApplication: 'ROUTE',
        receivingFacility: 'RCB',
        timestamp: '20240101120000',
        charset: null,
      },
    },
    {
      description: 'an acknowledgement without trigger event, structure, timestamp or charset',
      text: 'MSH|^~\\&|A|B|C|D|||ACK|X1|P|2.1',
      expected: { messageType: 'ACK', triggerEvent: null, structure: null, timestamp: null, charset: null, version: '2.1' },
    },
    {
      description: 'HD fields give component 1 (namespace id), not the OID',
      text: 'MSH|^~\\&|LAB^2.16.840.1.113883^ISO|RLC^2.16.1^ISO|||20190514+0100||ORU^R01|7|T|2.5.1|||||GBR|UNICODE UTF-8~8859/1',
      expected: { sendingApplication: 'LAB', sendingFacility: 'RLC', receivingApplication: null, timestamp: '20190514+0100', charset: 'UNICODE UTF-8' },
    },
    {
      description: 'header values under custom delimiters are decoded at the leaf',
      text: 'MSH$%~\\&$APP\\F\\1$FAC$$$$$ORU%R01$ID\\S\\9$P$2.3',
      expected: { sendingApplication: 'APP$1', controlId: 'ID%9', messageType: 'ORU', triggerEvent: 'R01' },
    },
  ];
  it.each(headers)('header: $description', ({ text, expected }) => {
    expect(parseHl7Message(text).header).toMatchObject(expected);
  });

  const rejections = [
    { description: 'empty text', text: '\r\n', code: 'hl7.empty', reason: 'the message has no segments', segmentIndex: null, field: null },
    { description: 'first segment is not MSH', text: 'PID|1\rPV1|1', code: 'hl7.no-msh', reason: 'the message starts with segment PID, not MSH', segmentIndex: 1, field: null },
    { description: 'first line is not a segment at all', text: 'hello world', code: 'hl7.no-msh', reason: 'the message starts with text that is not a segment, not MSH', segmentIndex: 1, field: null },
    { description: 'three encoding characters', text: 'MSH|^~}|A|B|||||ADT^A01|1|P|2.4', code: 'hl7.bad-delimiters', reason: /^MSH-2 \(encoding characters\) has 3 characters/, segmentIndex: 1, field: 'MSH-2' },
    { description: 'empty MSH-10', text: 'MSH|^~\\&|A|B|C|D|20240101||ADT^A01||P|2.4', code: 'hl7.missing-control-id', reason: 'MSH-10 (message control id) is empty', segmentIndex: 1, field: 'MSH-10' },
    { description: 'MSH-10 is an explicit null', text: 'MSH|^~\\&|A|B|C|D|20240101||ADT^A01|""|P|2.4', code: 'hl7.missing-control-id', reason: 'MSH-10 (message control id) is empty', segmentIndex: 1, field: 'MSH-10' },
    { description: 'MSH ends before MSH-10', text: 'MSH|^~\\&|A|B|C|D|20240101||ADT^A01', code: 'hl7.missing-control-id', reason: 'MSH-10 (message control id) is empty', segmentIndex: 1, field: 'MSH-10' },
    { description: 'empty MSH-9', text: 'MSH|^~\\&|A|B|C|D|20240101|||1|P|2.4', code: 'hl7.missing-message-type', reason: 'MSH-9 (message type) is empty', segmentIndex: 1, field: 'MSH-9' },
    { description: 'MSH-9 with a trigger but no type', text: 'MSH|^~\\&|A|B|C|D|20240101||^A01|1|P|2.4', code: 'hl7.missing-message-type', reason: 'MSH-9 (message type) is empty', segmentIndex: 1, field: 'MSH-9' },
    { description: 'a wrapped line inside a note', text: `${MSH}\rPID|1\rNTE|1||first half of a note\rsecond half of the note`, code: 'hl7.bad-segment-id', reason: /^segment 4 does not start with a segment id/, segmentIndex: 4, field: null },
    { description: 'a lower-case segment id', text: `${MSH}\rpid|1`, code: 'hl7.bad-segment-id', reason: /^segment 2 /, segmentIndex: 2, field: null },
    { description: 'a four-character segment id', text: `${MSH}\rPID1|1`, code: 'hl7.bad-segment-id', reason: /^segment 2 /, segmentIndex: 2, field: null },
    { description: 'a segment id starting with a digit', text: `${MSH}\r1ID|1`, code: 'hl7.bad-segment-id', reason: /^segment 2 /, segmentIndex: 2, field: null },
    { description: 'two messages in one text', text: `${MSH}\rPID|1\r${MSH}`, code: 'hl7.second-msh', reason: 'segment 3 is a second MSH: the text holds more than one message', segmentIndex: 3, field: 'MSH-1' },
  ];
  it.each(rejections)('rejects $description', ({ text, code, reason, segmentIndex, field }) => {
    const error = rejection(text);
    expect(error.code).toBe(code);
    expect(error.kind).toBe('parse');
    if (typeof reason === 'string') expect(error.reason).toBe(reason);
    else expect(error.reason).toMatch(reason);
    expect(error.segmentIndex).toBe(segmentIndex);
    expect(error.field).toBe(field);
  });

  it('never quotes field values in the error message', () => {
    const error = rejection(`${MSH}\rPID|1||9434765919\rNTE|1||Mr Smith\rhas diabetes`);
    expect(error.message).not.toContain('diabetes');
    expect(error.message).not.toContain('9434765919');
    expect(JSON.stringify(error.toJSON())).not.toContain('diabetes');
  });

  it('names the file and byte offset when given an origin', () => {
    const error = rejection('MSH|^~\\&|A|B|C|D|20240101||ADT^A01||P|2.4', { file: 'feeds/adt.hl7', offset: 4096 });
    expect(error.message).toBe('HL7 v2 message at byte 4096 of feeds/adt.hl7 rejected: MSH-10 (message control id) is empty');
    expect(error.location).toEqual({ file: 'feeds/adt.hl7', field: 'MSH-10' });
    expect(error.offset).toBe(4096);
    expect(error.toJSON()).toMatchObject({ code: 'hl7.missing-control-id', reason: 'MSH-10 (message control id) is empty', offset: 4096 });
  });
});

describe('a malformed message in a file', () => {
  it('is rejected with its offset and reason while the messages around it parse', () => {
    const input = [
      'MSH|^~\\&|PAS|RCB|||20240101||ADT^A01|GOOD-1|P|2.4',
      'PID|1',
      'MSH|^~\\&|PAS|RCB|||20240101||ADT^A08||P|2.4',
      'PID|2',
      'MSH|^~\\&|PAS|RCB|||20240101||ADT^A03|GOOD-2|P|2.4',
      'PID|3',
    ].join('\r\n');
    const outcomes = splitHl7Bytes(bytes(input)).map((unit) => {
      if (unit.kind !== 'message') return `unexpected ${unit.kind}`;
      try {
        return parseRawHl7Message(unit, 'adt.hl7').header.controlId;
      } catch (err) {
        return err instanceof Hl7ParseError ? `${err.code} at ${err.offset}: ${err.reason}` : 'crash';
      }
    });
    const badOffset = input.indexOf('MSH|^~\\&|PAS|RCB|||20240101||ADT^A08');
    expect(badOffset).toBeGreaterThan(0);
    expect(outcomes).toEqual(['GOOD-1', `hl7.missing-control-id at ${badOffset}: MSH-10 (message control id) is empty`, 'GOOD-2']);
  });
});

describe('parseRawHl7Message character sets', () => {
  const unit = (data: Uint8Array): RawHl7Message => {
    const [first] = splitHl7Bytes(data);
    if (first?.kind !== 'message') throw new Error('no message');
    return first;
  };
  const cases = [
    { description: 'UTF-8 text is decoded when MSH-18 says UNICODE UTF-8', data: Buffer.concat([bytes('MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5|||||GBR|UNICODE UTF-8\rPID|1||||'), Buffer.from('Zoë', 'utf8')]), expected: 'Zoë' },
    { description: 'latin1 text is kept when MSH-18 says 8859/1', data: bytes('MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5|||||GBR|8859/1\rPID|1||||Zo\xeb'), expected: 'Zoë' },
    { description: 'latin1 is the default when MSH-18 is absent', data: bytes('MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5\rPID|1||||Zo\xeb'), expected: 'Zoë' },
    { description: 'bytes that are not UTF-8 stay latin1 despite the label', data: bytes('MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5|||||GBR|UNICODE UTF-8\rPID|1||||Zo\xeb'), expected: 'Zoë' },
  ];
  it.each(cases)('$description', ({ data, expected }) => {
    expect(parseRawHl7Message(unit(data), 'x.hl7').segments[1]!.fields[5]).toBe(expected);
  });
});

describeWithShared('parseHl7Message on real samples', (shared) => {
  const root = join(shared, 'data/hl7v2');
  const messages = (file: string) =>
    splitHl7Bytes(readFileSync(join(root, file))).flatMap((unit) => (unit.kind === 'message' ? [unit] : []));

  const cases: { description: string; file: string; expected: Partial<Hl7Header> }[] = [
    { description: 'HAPI ADT_A01 (CR)', file: 'hapi-hl7v2/ADT_A01.txt', expected: { messageType: 'ADT', triggerEvent: 'A01', structure: 'ADT_A01', controlId: '22139243', version: '2.4', sendingApplication: 'system1', receivingFacility: 'UHN', timestamp: '200105231927' } },
    { description: 'HAPI ACK with empty MSH-9.2 and a } subcomponent separator', file: 'hapi-hl7v2/messages_txt_03_ACK-.hl7', expected: { messageType: 'ACK', triggerEvent: null, controlId: '589888ADT30502184808', version: '2.1' } },
    { description: 'HAPI segmentfinder_a24 with ^ as field separator', file: 'hapi-hl7v2/segmentfinder_a24.hl7', expected: { messageType: 'ADT', triggerEvent: 'A24', controlId: '2003582144', version: '2.4', sendingFacility: '200M' } },
    { description: 'ReportStream EHT with the v2.7 truncation character', file: 'cdc-reportstream/EHT-20210316-0001.hl7', expected: { messageType: 'ORU', structure: 'ORU_R01', version: '2.5.1', sendingApplication: 'LIFEPOINT', timestamp: '20210316162100-0500' } },
    { description: 'NW GMSA Manchester ORU with ODS codes in MSH-4/MSH-6', file: 'nw-gmsa/MFT_ORU_R01_PDF.hl7', expected: { sendingFacility: '699X0', receivingFacility: 'R0A', controlId: '5051095-201905141025' } },
    { description: 'ITK A01 with UNICODE charset', file: 'virtually-healthcare-itk/A01_example.hl7', expected: { sendingFacility: 'RCB', charset: 'UNICODE', structure: 'ADT_A01', controlId: '1391320453338055' } },
    { description: 'HAPI OLIS message with 8859/1 charset and an empty MSH-3.1', file: 'hapi-hl7v2/cv.04_001_chem.hl7', expected: { sendingApplication: null, charset: '8859/1', messageType: 'ERP', triggerEvent: 'Z99' } },
  ];
  it.each(cases)('$description', ({ file, expected }) => {
    const [unit] = messages(file);
    expect(parseRawHl7Message(unit!, file).header).toMatchObject(expected);
  });

  it('decodes real UTF-8 text in a ReportStream message labelled UNICODE UTF-8', () => {
    const file = 'cdc-reportstream/test-0001-input-covid-19.hl7';
    const texts = messages(file).map((unit) => parseRawHl7Message(unit, file).segments.flatMap((segment) => segment.fields).join('|'));
    expect(texts.some((text) => text.includes('\u2018preliminary.\u2019'))).toBe(true);
  });

  it('rejects the two HAPI OML messages without MSH-10 and parses the other eleven', () => {
    const file = 'hapi-hl7v2/example_oml_o21.hl7';
    const outcomes = messages(file).map((unit) => {
      try {
        parseRawHl7Message(unit, file);
        return 'ok';
      } catch (err) {
        return err instanceof Hl7ParseError ? `${err.code}@${err.offset}` : 'crash';
      }
    });
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(11);
    expect(outcomes.filter((outcome) => outcome !== 'ok')).toEqual(['hl7.missing-control-id@8892', 'hl7.missing-control-id@9291']);
  });
});
