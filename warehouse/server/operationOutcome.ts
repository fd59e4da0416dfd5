// HTTP errors as FHIR-style OperationOutcomes. One table maps outcome code → status, and one decides
// which carelake errors a client may be told about; everything else becomes a generic 500 whose
// details go only to the log, under the request id the client is given.

import { CarelakeError } from '../../core/errors.ts';

// FHIR IssueType codes: login (401), forbidden (403), throttled (429), too-costly (a query over its limits),
// not-supported (501: something this server was not set up to do, e.g. PDFs without Chromium).
export type OutcomeCode = 'not-found' | 'invalid' | 'login' | 'forbidden' | 'throttled' | 'too-costly' | 'not-supported' | 'transient' | 'exception';

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: { severity: 'error'; code: OutcomeCode; diagnostics: string }[];
}

export const outcomeStatus: Record<OutcomeCode, number> = {
  'not-found': 404,
  invalid: 400,
  login: 401,
  forbidden: 403,
  throttled: 429,
  'too-costly': 400,
  'not-supported': 501,
  transient: 503,
  exception: 500,
};

/** An error raised by a handler whose diagnostics were written for the client. */
export class HttpProblem extends Error {
  constructor(
    readonly outcome: OutcomeCode,
    readonly diagnostics: string,
  ) {
    super(diagnostics);
    this.name = 'HttpProblem';
  }
}

/** Carelake errors a client may be told about, with the words it is told. */
const publicErrors: Record<string, { outcome: OutcomeCode; diagnostics: string }> = {
  'serving.not-published': { outcome: 'transient', diagnostics: 'No data release has been published yet; try again later.' },
  'reports.bad-route': { outcome: 'not-found', diagnostics: 'There is no such page: a page address holds letters, digits, dots, dashes and underscores only.' },
};

export interface Problem {
  status: number;
  outcome: OutcomeCode;
  diagnostics: string;
  /** True when the error was not expected and must be logged in full. */
  internal: boolean;
}

/** `statusCode` is the documented field of Fastify's own errors (bad requests, oversized bodies). */
function clientErrorStatus(err: unknown): number | null {
  if (!(err instanceof Error) || !('statusCode' in err)) return null;
  const { statusCode } = err as Error & { statusCode: unknown };
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 ? statusCode : null;
}

export function toProblem(err: unknown, requestId: string): Problem {
  if (err instanceof HttpProblem) return { status: outcomeStatus[err.outcome], outcome: err.outcome, diagnostics: err.diagnostics, internal: false };
  if (err instanceof CarelakeError) {
    const known = publicErrors[err.code];
    if (known) return { status: outcomeStatus[known.outcome], outcome: known.outcome, diagnostics: known.diagnostics, internal: false };
  }
  const clientStatus = clientErrorStatus(err);
  if (clientStatus === 429) return { status: 429, outcome: 'throttled', diagnostics: 'Too many requests; slow down and try again shortly.', internal: false };
  if (clientStatus === 404) return { status: 404, outcome: 'not-found', diagnostics: 'Not found.', internal: false };
  if (clientStatus !== null) return { status: outcomeStatus.invalid, outcome: 'invalid', diagnostics: 'The request could not be processed.', internal: false };
  return {
    status: outcomeStatus.exception,
    outcome: 'exception',
    diagnostics: `An internal error occurred. Quote request id ${requestId} when reporting it.`,
    internal: true,
  };
}

export function operationOutcome(outcome: OutcomeCode, diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: outcome, diagnostics }] };
}
