// NHS number rules (NHS Data Dictionary): ten digits, the tenth a Modulus 11 check digit over the
// first nine with weights 10…2. A remainder giving 10 means the number is invalid. Numbers starting
// 999 are issued for testing and never belong to a real patient. Pure functions, no I/O.

export type NhsNumberStatus = 'valid' | 'invalid-check-digit' | 'malformed' | 'missing';

const WEIGHTS = [10, 9, 8, 7, 6, 5, 4, 3, 2] as const;

/** Strips the spaces and dashes people type (`943 476 5919`, `943-476-5919`). */
export function normaliseNhsNumber(text: string): string {
  return text.replace(/[\s-]/g, '');
}

/** The check digit for nine leading digits, or null when no valid NHS number can start with them. */
export function nhsCheckDigit(firstNine: string): number | null {
  if (!/^\d{9}$/.test(firstNine)) throw new RangeError('nhsCheckDigit needs exactly nine digits');
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(firstNine.charCodeAt(i) - 48) * WEIGHTS[i]!;
  const check = 11 - (sum % 11);
  if (check === 11) return 0;
  if (check === 10) return null;
  return check;
}

export function nhsNumberStatus(value: string | null | undefined): NhsNumberStatus {
  if (value === null || value === undefined || value.trim() === '') return 'missing';
  const digits = normaliseNhsNumber(value);
  if (!/^\d{10}$/.test(digits)) return 'malformed';
  const check = nhsCheckDigit(digits.slice(0, 9));
  return check !== null && check === digits.charCodeAt(9) - 48 ? 'valid' : 'invalid-check-digit';
}

export function isValidNhsNumber(value: string | null | undefined): boolean {
  return nhsNumberStatus(value) === 'valid';
}

export function isTestNhsNumber(value: string): boolean {
  return normaliseNhsNumber(value).startsWith('999');
}

/**
 * The SQL twin of isValidNhsNumber for an expression already stripped of spaces and dashes (the
 * models' `nhs_number_valid` macro is the same rule in Jinja): ten digits, the tenth the Modulus 11
 * check digit of the first nine.
 */
export function nhsNumberValidSql(digits: string): string {
  const sum = WEIGHTS.map((w, i) => `try_cast(substr(${digits}, ${i + 1}, 1) AS INTEGER) * ${w}`).join(' + ');
  const check = `(11 - ((${sum}) % 11))`;
  return `coalesce(regexp_full_match(${digits}, '[0-9]{10}') AND (CASE ${check} WHEN 11 THEN 0 WHEN 10 THEN -1 ELSE ${check} END) = try_cast(substr(${digits}, 10, 1) AS INTEGER), false)`;
}
