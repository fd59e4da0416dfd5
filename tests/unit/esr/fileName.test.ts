import { describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { parseEsrGoFileName } from '../../../pipelines/esr/fileName.ts';

describe('parseEsrGoFileName', () => {
  const accepted = [
    { description: 'a full extract (spec example)', name: 'GO_431_EXP_GOF_20121113_00000001.DAT', expected: { vpd: '431', sub: 'EXP', extract: 'full', date: '2012-11-13', sequence: 1 } },
    { description: 'a changes-only extract', name: 'GO_431_EXP_GOC_20240229_00001234.DAT', expected: { vpd: '431', sub: 'EXP', extract: 'changes', date: '2024-02-29', sequence: 1234 } },
    { description: 'a VPD with leading zero kept as text', name: 'GO_045_INT_GOF_20240101_00000010.DAT', expected: { vpd: '045', sub: 'INT', extract: 'full', date: '2024-01-01', sequence: 10 } },
    { description: 'a lower-case extension', name: 'GO_431_EXP_GOF_20121113_00000002.dat', expected: { vpd: '431', sub: 'EXP', extract: 'full', date: '2012-11-13', sequence: 2 } },
    { description: 'a path in front of the name', name: '/sftp/inbox/GO_431_EXP_GOC_20121114_00000003.DAT', expected: { vpd: '431', sub: 'EXP', extract: 'changes', date: '2012-11-14', sequence: 3 } },
  ];
  it.each(accepted)('reads $description', ({ name, expected }) => {
    expect(parseEsrGoFileName(name)).toEqual(expected);
  });

  const rejected = [
    { description: 'another file type', name: 'report.csv', why: /does not follow the GO naming pattern/ },
    { description: 'an unknown extract letter', name: 'GO_431_EXP_GOX_20121113_00000001.DAT', why: /does not follow/ },
    { description: 'a seven-digit sequence', name: 'GO_431_EXP_GOF_20121113_0000001.DAT', why: /does not follow/ },
    { description: 'a missing extension', name: 'GO_431_EXP_GOF_20121113_00000001', why: /does not follow/ },
    { description: 'an impossible date', name: 'GO_431_EXP_GOF_20121313_00000001.DAT', why: /date part is not a real yyyyMMdd date/ },
    { description: '30 February', name: 'GO_431_EXP_GOF_20240230_00000001.DAT', why: /date part/ },
  ];
  it.each(rejected)('rejects $description with a clear error', ({ name, why }) => {
    let caught: unknown;
    try {
      parseEsrGoFileName(name);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CarelakeError);
    const error = caught as CarelakeError;
    expect(error.code).toBe('esr.bad-file-name');
    expect(error.kind).toBe('parse');
    expect(error.message).toMatch(why);
    expect(error.hint).toContain('GO_431_EXP_GOF_20121113_00000001.DAT');
  });
});
