// Where a GO file stands in its VPD's file sequence, judged against the files already applied (landed).
// ESR numbers each Trust's files 1, 2, 3, …: a sequence already applied by another file is a repeat,
// which must never be applied twice; one past the next expected leaves a gap, reported so someone asks
// ESR for the missing files; one below the highest applied fills an earlier gap (models apply files in
// sequence order, so landing it late is still right). Pure.

import { parseEsrGoFileName, type EsrGoFileName } from './fileName.ts';

export type EsrSequenceCheck =
  | { status: 'first' | 'next' | 'late'; sequence: number }
  | { status: 'gap'; sequence: number; expected: number }
  | { status: 'repeat'; sequence: number; appliedAs: string };

/** `applied`: locations (paths or URLs ending in the file name) of files already landed for the source. */
export function checkEsrSequence(file: EsrGoFileName, applied: readonly string[]): EsrSequenceCheck {
  const sequence = file.sequence;
  let highest: number | null = null;
  for (const location of applied) {
    let other: EsrGoFileName;
    try {
      other = parseEsrGoFileName(location);
    } catch {
      continue;
    }
    if (other.vpd !== file.vpd) continue;
    if (other.sequence === sequence) return { status: 'repeat', sequence, appliedAs: location.split(/[\\/]/).pop() ?? location };
    highest = Math.max(highest ?? other.sequence, other.sequence);
  }
  if (highest === null) return { status: 'first', sequence };
  if (sequence === highest + 1) return { status: 'next', sequence };
  if (sequence < highest) return { status: 'late', sequence };
  return { status: 'gap', sequence, expected: highest + 1 };
}
