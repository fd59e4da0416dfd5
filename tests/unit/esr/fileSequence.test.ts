import { describe, expect, it } from 'vitest';
import { parseEsrGoFileName } from '../../../pipelines/esr/fileName.ts';
import { checkEsrSequence } from '../../../pipelines/esr/fileSequence.ts';

const name = (vpd: string, seq: number, kind = 'C') => `GO_${vpd}_EXP_GO${kind}_20260101_${String(seq).padStart(8, '0')}.DAT`;
const check = (file: string, applied: string[]) => checkEsrSequence(parseEsrGoFileName(file), applied);

describe('checkEsrSequence', () => {
  it('takes the first file of a VPD as it comes', () => {
    expect(check(name('431', 7, 'F'), [])).toEqual({ status: 'first', sequence: 7 });
    expect(check(name('431', 1), [`/in/${name('999', 1)}`])).toEqual({ status: 'first', sequence: 1 });
  });

  it('accepts the next sequence, reports a gap with the one expected, and lets a late file fill it', () => {
    const applied = [`/in/${name('431', 1, 'F')}`, `sftp://u@h:22/out/${name('431', 2)}`, `/in/${name('431', 5)}`];
    expect(check(name('431', 6), applied)).toEqual({ status: 'next', sequence: 6 });
    expect(check(name('431', 8), applied)).toEqual({ status: 'gap', sequence: 8, expected: 6 });
    expect(check(name('431', 3), applied)).toEqual({ status: 'late', sequence: 3 });
  });

  it('names the file a repeated sequence was applied from, whatever its date or kind', () => {
    expect(check('GO_431_EXP_GOF_20260301_00000002.DAT', [`/in/${name('431', 1, 'F')}`, `/in/${name('431', 2)}`])).toEqual({ status: 'repeat', sequence: 2, appliedAs: name('431', 2) });
  });

  it('ignores locations that are not GO files', () => {
    expect(check(name('431', 2), ['/in/notes.txt', `/in/${name('431', 1)}`])).toEqual({ status: 'next', sequence: 2 });
  });
});
