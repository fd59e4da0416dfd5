// Who is calling the governed serving API. Every request is made by a Principal with exactly one role
// (shared/specs/governance.md, "Access"); what that role may see is decided elsewhere, against the
// role's schemas. The id is stable and non-secret so the audit log can name the caller without ever
// holding a credential: 'key:<keyId>' for an API key, 'jwt:<issuer hash>:<sub>' for an IdP token.

/** analyst: pseudonymised row-level SQL; commissioner: disclosure-controlled aggregates and reports only; engineer: ops. */
export const ROLES = ['analyst', 'commissioner', 'engineer'] as const;

export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export interface Principal {
  /** Stable and non-secret: 'key:<keyId>' | 'jwt:<issuer hash>:<sub>'. Safe to log and audit. */
  id: string;
  /** For people: the key's name, or the token's preferred_username / name / email / sub. */
  name: string;
  role: Role;
  via: 'api-key' | 'jwt';
}
