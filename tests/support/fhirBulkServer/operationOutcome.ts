// Every error the test server gives a FHIR client is an OperationOutcome, built here from one table that
// maps a problem to its HTTP status and FHIR issue code (transient vs processing is what tells a Bulk
// Data client to retry or to give up). OAuth token-endpoint errors are not FHIR: they get their own
// `{ error, error_description }` shape, as RFC 6749 §5.2 requires.

export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** The FHIR IssueType codes this server uses. */
export type IssueCode =
  | 'invalid'
  | 'not-supported'
  | 'login'
  | 'expired'
  | 'not-found'
  | 'deleted'
  | 'too-long'
  | 'throttled'
  | 'transient'
  | 'processing'
  | 'exception'
  | 'informational';

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: { severity: IssueSeverity; code: IssueCode; diagnostics: string }[];
}

export type ProblemKind =
  | 'bad-request'
  | 'unsupported-parameter'
  | 'unauthenticated'
  | 'token-expired'
  | 'not-found'
  | 'method-not-allowed'
  | 'not-acceptable'
  | 'gone'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'throttled'
  | 'transient'
  | 'export-failed'
  | 'internal';

/** The one table: problem → HTTP status and issue code. */
export const problemTable: Record<ProblemKind, { status: number; code: IssueCode }> = {
  'bad-request': { status: 400, code: 'invalid' },
  'unsupported-parameter': { status: 400, code: 'not-supported' },
  unauthenticated: { status: 401, code: 'login' },
  'token-expired': { status: 401, code: 'expired' },
  'not-found': { status: 404, code: 'not-found' },
  'method-not-allowed': { status: 405, code: 'not-supported' },
  'not-acceptable': { status: 406, code: 'not-supported' },
  gone: { status: 410, code: 'deleted' },
  'payload-too-large': { status: 413, code: 'too-long' },
  'unsupported-media-type': { status: 415, code: 'not-supported' },
  throttled: { status: 429, code: 'throttled' },
  transient: { status: 500, code: 'transient' },
  'export-failed': { status: 500, code: 'processing' },
  internal: { status: 500, code: 'exception' },
};

/** A failure a handler meant to report; its diagnostics were written for the client. */
export class BulkProblem extends Error {
  constructor(
    readonly kind: ProblemKind,
    readonly diagnostics: string,
    /** Extra response headers, e.g. Allow, Retry-After, WWW-Authenticate. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(diagnostics);
    this.name = 'BulkProblem';
  }
}

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope';

/** A token-endpoint failure, answered 400 `{ error, error_description }`. */
export class OAuthProblem extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
    this.name = 'OAuthProblem';
  }
}

export function operationOutcome(severity: IssueSeverity, code: IssueCode, diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

export function problemOutcome(problem: BulkProblem): { status: number; body: OperationOutcome } {
  const { status, code } = problemTable[problem.kind];
  return { status, body: operationOutcome('error', code, problem.diagnostics) };
}
