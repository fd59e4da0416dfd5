// SNOMED CT identifiers: the last digit is a Verhoeff check digit over the rest, and the two digits
// before it name the partition (00/10 concept, 01/11 description, 02/12 relationship). Checking both
// catches a mistyped or transposed concept id in a hand-made map before it reaches a fact.
// Written by hand: no maintained npm package does this, and it is a few lines.

// Verhoeff's dihedral group D5 and its permutation, the table built from the generator rather than
// typed out: a typo in a hand-copied row still passes most ids.
const D5 = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const SIGMA = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4];
const PERMUTATIONS: number[][] = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]];
for (let k = 1; k < 8; k++) PERMUTATIONS.push(PERMUTATIONS[k - 1]!.map((x) => SIGMA[x]!));

/** Whether a string of digits ends in its Verhoeff check digit. */
export function verhoeffValid(digits: string): boolean {
  let check = 0;
  for (let i = 0; i < digits.length; i++) {
    check = D5[check]![PERMUTATIONS[i % 8]![digits.charCodeAt(digits.length - 1 - i) - 48]!]!;
  }
  return check === 0;
}

/** A concept's SCTID: 6–18 digits, no leading zero, Verhoeff-valid, partition 00 (core) or 10 (extension). */
export function isConceptSctid(id: string): boolean {
  if (!/^[1-9]\d{5,17}$/.test(id) || !verhoeffValid(id)) return false;
  const partition = id.slice(-3, -1);
  return partition === '00' || partition === '10';
}

/** The payload (item id, partition) completed with its Verhoeff check digit: for generated test data. */
export function withCheckDigit(payload: string): string {
  for (let digit = 0; digit <= 9; digit++) if (verhoeffValid(`${payload}${digit}`)) return `${payload}${digit}`;
  throw new Error(`no check digit for ${payload}`);
}
