// What a Bulk Data server's error response means for the client: try again (transient) or give up
// (fatal), with the server's own words for the message. Per the spec, an OperationOutcome whose issue
// code is `transient` means retry, and so does 429; gateway errors without a FHIR body (502/503/504
// from a proxy) are treated as transient too, because they say nothing about the job.

export type FailureKind = 'transient' | 'fatal';

export interface ServerFailure {
  kind: FailureKind;
  status: number;
  /** Diagnostics from the OperationOutcome, or a short excerpt of a non-FHIR body. */
  detail: string;
}

interface OutcomeIssue {
  severity?: unknown;
  code?: unknown;
  diagnostics?: unknown;
  details?: { text?: unknown };
}

export function classifyFailure(status: number, bodyText: string): ServerFailure {
  const issues = outcomeIssues(bodyText);
  const detail = issues
    ? issues.map((i) => [i.code, typeof i.diagnostics === 'string' ? i.diagnostics : typeof i.details?.text === 'string' ? i.details.text : ''].filter(Boolean).join(': ')).join('; ') || `HTTP ${status}`
    : bodyText.trim().slice(0, 200) || `HTTP ${status}`;
  const transient = status === 429 || (issues?.some((i) => i.code === 'transient') ?? false) || (!issues && [502, 503, 504].includes(status));
  return { kind: transient ? 'transient' : 'fatal', status, detail };
}

function outcomeIssues(bodyText: string): OutcomeIssue[] | null {
  try {
    const body = JSON.parse(bodyText) as { resourceType?: unknown; issue?: unknown };
    return body?.resourceType === 'OperationOutcome' && Array.isArray(body.issue) ? (body.issue as OutcomeIssue[]) : null;
  } catch {
    return null;
  }
}
