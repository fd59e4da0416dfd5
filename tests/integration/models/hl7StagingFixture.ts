// A small handcrafted HL7 v2 feed for the staging model tests: one trust (ODS RXX) whose messages
// exercise what the curated mapping must get right — an admission transferred, discharged and the
// discharge cancelled (A01, A02, A03, A13), an admission cancelled (A11), two more visits of the same
// patient on the same day (A04 then A03), a merge with two retired identifiers (A40), results of every
// value type (ORU: NM, NM with a comparator, ST, CE, SN, FT), diagnoses in both ICD-10 forms, a death,
// NHS numbers valid, invalid and spaced, and one message with every delimiter moved. Synthetic: NHS
// numbers are test numbers and nobody here is real. Not a test file itself.

const CR = '\r';

/** A segment from field values keyed by HL7 field number: seg('PV1', { 2: 'I', 19: 'V1' }). */
function seg(id: string, fields: Readonly<Record<number, string>>, separator = '|'): string {
  const last = Math.max(...Object.keys(fields).map(Number));
  const values = [id];
  for (let n = 1; n <= last; n++) values.push(fields[n] ?? '');
  return values.join(separator);
}

/** A message with the usual delimiters: `MSH|^~\&|PAS|RXX|…` plus its segments, CR-terminated. */
function message(type: string, controlId: string, time: string, segments: string[]): string {
  return [`MSH|^~\\&|PAS|RXX|CARELAKE|QCL|${time}||${type}|${controlId}|P|2.4|||AL|NE||8859/1`, ...segments].join(CR) + CR;
}

const evn = (event: string, recorded: string, occurred = '') => seg('EVN', { 1: event, 2: recorded, 6: occurred });

// Patients. P1 has an MRN and a valid NHS number (verified, NSTS01); P2 an invalid NHS number (status
// 02); P3 (MRN M009) is a duplicate registration later merged into P1; P5 has died.
const P1 = seg('PID', {
  1: '1',
  3: 'M001^^^RXX^MR~9434765919^^^NHS^NH',
  5: 'SMITH\\T\\JONES^Sian^Mary^^Ms',
  7: '19800215',
  8: 'F',
  11: '1 High St^^Leeds^^ls1 4ap^GBR^H',
  32: 'NSTS01',
});
const P1_PD1 = seg('PD1', { 3: 'Park Surgery^^B82001', 4: 'G1234567^Jones^Jo^^^Dr' });
const P2 = seg('PID', { 1: '1', 3: 'M002^^^RXX^MR~9434765918^^^NHS^NH', 5: 'BROWN^Tom', 7: '19751103', 8: 'M', 11: '2 Low Rd^^York^^YO1 7HH^GBR^H', 32: '02' });
const P3 = seg('PID', { 1: '1', 3: 'M009^^^RXX^MR', 5: 'SMITH^Sian', 7: '19800215', 8: 'F', 11: '9 Old Rd^^Leeds^^LS2 9JT^GBR^H' });
const P5 = seg('PID', { 1: '1', 3: 'M005^^^RXX^MR', 5: 'GREEN^Ada', 7: '19300101', 8: 'F', 29: '202403201530', 30: 'Y' });

/** PV1 of one visit: class, location, visit number; admitted/discharged as sent (PV1-44/45). */
function pv1(patientClass: string, location: string, visit: string, admitted: string, extra: Record<number, string> = {}): string {
  return seg('PV1', { 1: '1', 2: patientClass, 3: location, 19: `${visit}^^^RXX^VN`, 44: admitted, ...extra });
}

export const FIXTURE_FILES: Record<string, string> = {
  'adt-1.hl7': [
    // P1, visit V1: admitted 10 March (GMT) to WARD1, transferred to WARD2, discharged, discharge cancelled.
    message('ADT^A01^ADT_A01', 'C001', '20240310083100', [
      evn('A01', '20240310083000'),
      P1,
      P1_PD1,
      pv1('I', 'WARD1^BAY1^BED1^RXX01', 'V1', '20240310083000', { 4: '21', 10: '300', 14: '19' }),
      seg('DG1', { 1: '1', 3: 'J18.9^Pneumonia, unspecified^I10', 5: '20240310083000', 6: 'A' }),
    ]),
    message('ADT^A02^ADT_A02', 'C002', '20240311090000', [
      evn('A02', '20240311085900', '20240311085500'),
      P1,
      pv1('I', 'WARD2^BAY3^BED4^RXX01', 'V1', '20240310083000', { 4: '21', 10: '300', 14: '19' }),
    ]),
    message('ADT^A03^ADT_A03', 'C003', '20240315120500', [
      evn('A03', '20240315120000'),
      P1,
      pv1('I', 'WARD2^BAY3^BED4^RXX01', 'V1', '20240310083000', { 4: '21', 10: '300', 14: '19', 36: '01', 45: '20240315120000' }),
      seg('DG1', { 1: '1', 3: 'J189^Pneumonia, unspecified^I10', 5: '20240315120000', 6: 'F' }),
      seg('DG1', { 1: '2', 3: 'E11X^Type 2 diabetes mellitus^I10', 5: '20240315120000', 6: 'F' }),
    ]),
    message('ADT^A13^ADT_A13', 'C004', '20240315130000', [
      evn('A13', '20240315130000'),
      P1,
      pv1('I', 'WARD2^BAY3^BED4^RXX01', 'V1', '20240310083000', { 4: '21', 10: '300', 14: '19' }),
    ]),
  ].join(''),
  'adt-2.hl7': [
    // P2 on 1 April (BST): V2 admitted and cancelled; V3 an outpatient visit and V4 an ED attendance, both finished.
    message('ADT^A01^ADT_A01', 'C010', '20240401090000', [evn('A01', '20240401090000'), P2, pv1('I', 'WARD5^^^RXX01', 'V2', '20240401090000')]),
    message('ADT^A11^ADT_A09', 'C011', '20240401093000', [evn('A11', '20240401093000'), P2, pv1('I', 'WARD5^^^RXX01', 'V2', '20240401090000')]),
    message('ADT^A04^ADT_A01', 'C012', '20240401100000', [evn('A04', '20240401100000'), P2, pv1('O', 'OPD2^^^RXX02', 'V3', '20240401100000')]),
    message('ADT^A03^ADT_A03', 'C013', '20240401104500', [
      evn('A03', '20240401104500'),
      P2,
      pv1('O', 'OPD2^^^RXX02', 'V3', '20240401100000', { 45: '20240401104500' }),
    ]),
    message('ADT^A04^ADT_A01', 'C014', '20240401140000', [evn('A04', '20240401140000'), P2, pv1('E', 'ED^MAJ^^RXX01', 'V4', '20240401140000')]),
    message('ADT^A03^ADT_A03', 'C015', '20240401180000', [
      evn('A03', '20240401180000'),
      P2,
      pv1('E', 'ED^MAJ^^RXX01', 'V4', '20240401140000', { 45: '20240401180000' }),
    ]),
  ].join(''),
  'adt-3.hl7': [
    // P3 registered under a second MRN, then merged into P1 with both of its identifiers retired.
    message('ADT^A08^ADT_A01', 'C020', '20240318100000', [evn('A08', '20240318100000'), P3, seg('PV1', { 1: '1', 2: 'N' })]),
    message('ADT^A40^ADT_A39', 'C021', '20240319110000', [
      evn('A40', '20240319110000', '20240319105000'),
      P1,
      P1_PD1,
      seg('MRG', { 1: 'M009^^^RXX^MR~9876543210^^^NHS^NH' }),
      seg('PV1', { 1: '1', 2: 'N' }),
    ]),
    // P5 died: PID-29/30.
    message('ADT^A08^ADT_A01', 'C022', '20240321090000', [evn('A08', '20240321090000'), P5, seg('PV1', { 1: '1', 2: 'N' })]),
    // Every delimiter moved (field !, component @, repetition *, escape $, subcomponent %): P4, with a
    // spaced NHS number, NSTS02 and an escaped field separator in the family name.
    [
      'MSH!@*$%!PAS!RXX!CARELAKE!QCL!20240322090000!!ADT@A28@ADT_A05!C023!P!2.4',
      seg('EVN', { 1: 'A28', 2: '20240322090000' }, '!'),
      seg('PID', { 1: '1', 3: 'M004@@@RXX@MR*943 476 5919@@@NHS@NH', 5: 'O$F$NEILL@Ann', 7: '19900704', 8: 'F', 11: '3 Mill Lane@@Leeds@@LS6 2DQ@GBR@H', 32: 'NSTS02' }, '!'),
    ].join(CR) + CR,
  ].join(''),
  'oru-1.hl7': message('ORU^R01^ORU_R01', 'C030', '20240312103000', [
    P1,
    seg('PV1', { 1: '1', 2: 'I', 3: 'WARD2^BAY3^BED4^RXX01', 19: 'V1^^^RXX^VN' }),
    seg('ORC', { 1: 'RE', 2: 'RXXP1^PAS', 3: 'RXXL1^LIMS' }),
    seg('OBR', { 1: '1', 2: 'RXXP1^PAS', 3: 'RXXL1^LIMS', 4: 'FBC^Full blood count^L', 7: '20240312070000', 14: '20240312073000', 22: '20240312100000', 24: 'HM', 25: 'F' }),
    seg('OBX', { 1: '1', 2: 'NM', 3: 'HB^Haemoglobin^L^1022431000000105^Haemoglobin estimation^SCT', 5: '135', 6: 'g/L', 7: '115-165', 8: 'N', 11: 'F', 14: '20240312071500' }),
    seg('OBX', { 1: '2', 2: 'NM', 3: 'CRP^C-reactive protein^L', 5: '<5', 6: 'mg/L', 7: '<5', 8: 'N', 11: 'F' }),
    seg('OBX', { 1: '3', 2: 'ST', 3: 'COMM^Comment^L', 5: 'Haemolysed \\T\\ repeat', 11: 'P' }),
    seg('OBX', { 1: '4', 2: 'CE', 3: 'COVID^SARS-CoV-2 RNA^L', 5: '260373001^Detected^SCT', 8: 'A', 11: 'C' }),
    seg('OBX', { 1: '5', 2: 'SN', 3: 'EGFR^eGFR^L', 5: '>^90', 6: 'mL/min/1.73m2', 7: '>60', 11: 'F' }),
    seg('OBX', { 1: '6', 2: 'SN', 3: 'TITRE^Antibody titre^L', 5: '^1^:^128', 11: 'F' }),
    seg('OBX', { 1: '7', 2: 'FT', 3: 'REP^Report^L', 5: 'Line one\\.br\\Line two~Line three', 11: 'X' }),
  ]),
};
