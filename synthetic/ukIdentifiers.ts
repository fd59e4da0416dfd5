// UK identifier shapes for synthetic data: NHS numbers (999 test range, Modulus 11 valid), postcodes,
// ODS organisation codes, hospital MRNs, National Insurance numbers and SDS/GMP practitioner codes.
// Unique identifiers come from a counter run through an affine permutation, so they look scattered
// yet never repeat, and nothing remembers which were issued (memory stays flat at a million people).
// None of these values can belong to a real person: NHS numbers are all 999…, NI numbers use the
// never-issued `QQ` prefix, and organisation codes are paired with invented names. The 999 range
// holds only `NHS_TEST_RANGE_CAPACITY` valid numbers; once they are all issued the allocator gives
// `null` (no NHS number: an unregistered person or overseas visitor), never a reused or real-range one.

import { nhsCheckDigit } from '../transforms/identifiers/nhsNumber.ts';
import { AffinePermutation, Random } from './random.ts';

/** How many valid NHS numbers start 999: 10^6 nine-digit prefixes minus those whose check digit would be 10. */
export const NHS_TEST_RANGE_CAPACITY = 909_091;

/**
 * Hands out distinct, Mod-11-valid NHS numbers in the 999 test range, then `null` for everyone after
 * the range (or the smaller `capacity` a test passes) is used up. Never throws, never repeats.
 */
export class NhsNumberAllocator {
  private readonly permutation: AffinePermutation;
  private readonly capacity: number;
  private counter = 0;
  private issued = 0;

  constructor(seed: number, capacity: number = NHS_TEST_RANGE_CAPACITY) {
    this.permutation = new AffinePermutation(1_000_000, Random.derive(seed, 'nhs-number'));
    this.capacity = Math.min(capacity, NHS_TEST_RANGE_CAPACITY);
  }

  /** How many numbers have been handed out so far. */
  get issuedCount(): number {
    return this.issued;
  }

  next(): string | null {
    if (this.issued >= this.capacity) return null;
    // About one prefix in eleven has no valid check digit; skipping it keeps the counter a bijection.
    while (this.counter < this.permutation.modulus) {
      const prefix = `999${String(this.permutation.at(this.counter++)).padStart(6, '0')}`;
      const check = nhsCheckDigit(prefix);
      if (check !== null) {
        this.issued++;
        return `${prefix}${check}`;
      }
    }
    return null;
  }
}

/** The same number with a wrong check digit — a keying error that Mod-11 validation must catch. */
export function withWrongCheckDigit(nhsNumber: string, random: Random): string {
  const check = nhsNumber.charCodeAt(9) - 48;
  const wrong = (check + random.int(1, 9)) % 10;
  return `${nhsNumber.slice(0, 9)}${wrong}`;
}

/** A temporary local number some PAS systems put in the NHS number field until a trace succeeds. */
export function temporaryNumber(random: Random): string {
  return `TMP${String(random.int(0, 9_999_999)).padStart(7, '0')}`;
}

// Inward codes never use C, I, K, M, O or V.
const INWARD_LETTERS = 'ABDEFGHJLNPQRSTUWXYZ';

export function postcode(outward: string, random: Random): string {
  const letter = () => INWARD_LETTERS.charAt(random.int(0, INWARD_LETTERS.length - 1));
  return `${outward} ${random.int(0, 9)}${letter()}${letter()}`;
}

/** Local hospital number: the trust's ODS code and seven digits, e.g. `RX10482913`. */
export class MrnAllocator {
  private readonly permutation: AffinePermutation;
  private readonly trustOds: string;
  private counter = 0;

  constructor(seed: number, trustOds: string) {
    this.trustOds = trustOds;
    this.permutation = new AffinePermutation(10_000_000, Random.derive(seed, 'mrn', trustOds));
  }

  next(): string {
    return `${this.trustOds}${String(this.permutation.at(this.counter++)).padStart(7, '0')}`;
  }
}

/** `QQ123456C`: the NI number shape, with the prefix HMRC reserves for examples so it can never be real. */
export function niNumber(uniqueSixDigits: number, random: Random): string {
  return `QQ${String(uniqueSixDigits).padStart(6, '0')}${random.pick(['A', 'B', 'C', 'D'])}`;
}

/** Spine Directory Service user id: twelve digits, unique per (practice, GP). */
export function sdsUserId(practiceIndex: number, gpIndex: number): string {
  return `5${String(practiceIndex * 8 + gpIndex).padStart(11, '0')}`;
}

/** GMP national code (`G` + seven digits), what HL7 UK puts in PD1-4. */
export function gmpCode(practiceIndex: number, gpIndex: number): string {
  return `G${String(3_000_000 + practiceIndex * 8 + gpIndex).padStart(7, '0')}`;
}
