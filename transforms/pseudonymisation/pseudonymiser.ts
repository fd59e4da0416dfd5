// Keyed pseudonymisation and data-minimisation helpers for the serving layer (see
// shared/specs/governance.md). Tokens are HMAC-SHA256 under a per-project key derived from the master
// key with HKDF, so tokens from two projects cannot be linked and the NHS number space (~10^9) cannot
// be brute-forced without the key. Pure: node:crypto only, no I/O, clock or env — callers pass the key
// and the "as of" date in.

import { createHmac, hkdfSync } from 'node:crypto';
import { CarelakeError } from '../../core/errors.ts';
import { isValidNhsNumber, normaliseNhsNumber } from '../identifiers/nhsNumber.ts';

export type IdentifierKind = 'nhs_number' | 'mrn' | 'esr_person' | 'esr_employee' | 'esr_assignment' | 'ni_number' | 'fhir_patient' | 'person';

/** HKDF output length; also the minimum master key length, so derivation never stretches a weak key. */
export const PSEUDONYM_KEY_BYTES = 32;

/**
 * Normalised text to tokenise, or null when the value must not be tokenised at all. A registry keyed
 * by kind, so adding a kind without saying how to normalise it is a compile error.
 */
const normalisers: Record<IdentifierKind, (value: string) => string | null> = {
  // An invalid NHS number is not tokenised as if it were valid: two typos of different patients would
  // otherwise share a token and falsely link.
  nhs_number: (value) => (isValidNhsNumber(value) ? normaliseNhsNumber(value) : null),
  mrn: upperTrimmed,
  esr_person: upperTrimmed,
  esr_employee: upperTrimmed,
  // An ESR assignment number is the employee number, with `-<n>` for a second or later assignment.
  esr_assignment: upperTrimmed,
  // NI numbers are routinely written "AB 12 34 56 C"; the inner spaces are presentation, not identity.
  ni_number: (value) => upperTrimmed(value.replace(/\s+/g, '')),
  // FHIR logical ids are case-sensitive ([A-Za-z0-9.-]{1,64}): upper-casing would merge two distinct
  // resources under one token, so they are only trimmed.
  fhir_patient: (value) => nonEmpty(value.trim()),
  // A linked person (person_xref.person_id): stable across builds, so its token is too.
  person: upperTrimmed,
};

export const IDENTIFIER_KINDS = Object.keys(normalisers) as readonly IdentifierKind[];

export function isIdentifierKind(value: string): value is IdentifierKind {
  return Object.prototype.hasOwnProperty.call(normalisers, value);
}

/** The per-project key: HKDF-SHA256(master, salt = none, info = `project:<id>`), 32 bytes. */
export function derivePseudonymKey(master: Buffer, projectId: string): Buffer {
  if (master.length < PSEUDONYM_KEY_BYTES) {
    throw new CarelakeError({
      code: 'pseudonymisation.master-key-too-short',
      kind: 'config',
      message: `The pseudonymisation master key has ${master.length} bytes; at least ${PSEUDONYM_KEY_BYTES} are needed`,
      hint: 'generate a new key of 32 random bytes',
    });
  }
  if (projectId.trim() === '') {
    throw new CarelakeError({
      code: 'pseudonymisation.project-id-missing',
      kind: 'config',
      message: 'A project id is needed to derive a pseudonymisation key',
      hint: 'name the project the release is for, e.g. "carelake-commissioning"',
    });
  }
  // An empty salt is RFC 5869's default (a zero-filled block); the project separation comes from `info`.
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `project:${projectId}`, PSEUDONYM_KEY_BYTES));
}

export class Pseudonymiser {
  // A native private field: unlike a TS `private`, it does not show up in console.log/util.inspect.
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < PSEUDONYM_KEY_BYTES) {
      throw new CarelakeError({
        code: 'pseudonymisation.key-too-short',
        kind: 'config',
        message: `A pseudonymisation key needs at least ${PSEUDONYM_KEY_BYTES} bytes, got ${key.length}`,
        hint: 'derive the key with derivePseudonymKey(master, projectId)',
      });
    }
    // A private copy: the caller may zero or reuse its buffer.
    this.#key = Buffer.from(key);
  }

  /** Lower-case hex HMAC-SHA256 of `<kind>:<normalised value>`, or null for a missing or invalid identifier. */
  token(kind: IdentifierKind, value: string | null): string | null {
    if (value === null) return null;
    const normalised = normalisers[kind](value);
    if (normalised === null) return null;
    // The kind is part of the message so an MRN and an ESR number with the same text never share a token.
    return createHmac('sha256', this.#key).update(`${kind}:${normalised}`, 'utf8').digest('hex');
  }

  /** Keeps the key out of logs and error dumps that serialise objects. */
  toJSON(): Record<string, string> {
    return { type: 'Pseudonymiser' };
  }
}

function upperTrimmed(value: string): string | null {
  return nonEmpty(value.trim().toUpperCase());
}

function nonEmpty(value: string): string | null {
  return value === '' ? null : value;
}

// ---------------------------------------------------------------------------------------------
// Minimisation: a date of birth becomes a year or an age band, a postcode becomes its district.

interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** `YYYY-MM-DD`, optionally followed by a time (`T…` or ` …`); null unless it names a real calendar day. */
function parseIsoDate(text: string | null): CalendarDate | null {
  if (text === null) return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/.exec(text.trim());
  if (!match) return null;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const probe = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 2023-02-30 over into March; a real date survives the round trip unchanged.
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return null;
  return { year, month, day };
}

export function yearOfBirth(isoDate: string | null): number | null {
  return parseIsoDate(isoDate)?.year ?? null;
}

export const AGE_BAND_WIDTH = 5;
export const AGE_BAND_TOP = 85;

/**
 * Five-year age band at `asOf` (0-4, 5-9, …, 80-84, 85+), counting completed years; null when either
 * date is invalid or the birth is after `asOf`. Someone born on 29 February turns a year older on
 * 1 March in non-leap years, as in UK law.
 */
export function ageBand(isoDate: string | null, asOf: string): string | null {
  const birth = parseIsoDate(isoDate);
  const at = parseIsoDate(asOf);
  if (!birth || !at) return null;
  let age = at.year - birth.year;
  if (at.month < birth.month || (at.month === birth.month && at.day < birth.day)) age -= 1;
  if (age < 0) return null;
  if (age >= AGE_BAND_TOP) return `${AGE_BAND_TOP}+`;
  const low = Math.floor(age / AGE_BAND_WIDTH) * AGE_BAND_WIDTH;
  return `${low}-${low + AGE_BAND_WIDTH - 1}`;
}

// Outward code (area letters, district digit, optional digit/letter) then inward code (digit + two
// letters). The space is optional and case is ignored, as people type postcodes both ways.
const POSTCODE = /^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$/;

/** `'LS1 4AP'` → `'LS1'`; also accepts `'ls14ap'`. Anything that is not a full postcode gives null. */
export function postcodeDistrict(postcode: string | null): string | null {
  if (postcode === null) return null;
  const compact = postcode.replace(/\s+/g, '').toUpperCase();
  return POSTCODE.exec(compact)?.[1] ?? null;
}
