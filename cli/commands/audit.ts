// `carelake audit verify` and `carelake audit show`: for information-governance leads, the check that
// the audit log is whole (exit non-zero, naming the line, when it is not) and a look at who did what
// recently. Both read the log streaming; show verifies as it goes and warns if the log does not verify.

import { existsSync } from 'node:fs';
import { CarelakeError } from '../../core/errors.ts';
import { AUDIT_OUTCOMES, type AuditEntry, type AuditOutcome } from '../../warehouse/audit/auditEntry.ts';
import { verifyAuditLog, type AuditVerifyResult } from '../../warehouse/audit/auditVerify.ts';
import { formatTable, type Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

/** Verifies the lake's audit log; throws `audit.tampered` (exit 1) naming the first bad line. */
export async function auditVerifyCommand(ctx: CommandContext, out: Console): Promise<AuditVerifyResult> {
  const { auditLog, auditHead, auditLock } = ctx.layout;
  if (!existsSync(auditLog) && !existsSync(auditHead)) {
    out.info(`No audit log yet at ${auditLog}: nothing has been audited.`);
    return { ok: true, entries: 0, lastSeq: 0, lastHash: '0'.repeat(64), notes: [] };
  }
  const result = await verifyAuditLog(auditLog, auditHead, { lockFile: auditLock });
  for (const note of result.notes) out.warn(note);
  if (!result.ok) {
    const problem = result.firstProblem!;
    throw new CarelakeError({
      code: 'audit.tampered',
      kind: 'runtime',
      message: `The audit log does not verify: ${problem.problem}. The ${result.entries} entr${result.entries === 1 ? 'y before it is' : 'ies before it are'} intact`,
      location: problem.line > 0 ? { file: auditLog, line: problem.line } : { file: auditHead },
      hint: 'keep the file as it is (it is evidence) and tell your information governance lead',
    });
  }
  out.info(`Audit log OK: ${result.entries} entr${result.entries === 1 ? 'y' : 'ies'}, consecutive and chained; last hash ${result.lastHash}`);
  return result;
}

export interface AuditShowOptions {
  /** An ISO date or date-time (no offset: local time), or a span back from now: 30m, 24h, 7d, 2w. */
  since: string;
  /** Exact principal id, or a prefix ending in `*` (e.g. `jwt:*`). */
  principal?: string;
  outcome?: string;
  format: 'table' | 'json';
  /** For tests: the clock relative spans count back from. */
  now?: Date;
}

/** Entries since a time, optionally for one principal or outcome, as a table or a JSON array. */
export async function auditShowCommand(ctx: CommandContext, options: AuditShowOptions, out: Console): Promise<AuditEntry[]> {
  const since = parseSince(options.since, options.now ?? new Date()).getTime();
  const outcome = options.outcome === undefined ? undefined : parseOutcome(options.outcome);
  const principal = options.principal === undefined ? undefined : principalMatcher(options.principal);
  const { auditLog, auditHead, auditLock } = ctx.layout;

  const shown: AuditEntry[] = [];
  const result = await verifyAuditLog(auditLog, auditHead, {
    lockFile: auditLock,
    onEntry: (entry) => {
      if (Date.parse(entry.at) < since) return;
      if (outcome !== undefined && entry.outcome !== outcome) return;
      if (principal !== undefined && !principal(entry.principal)) return;
      shown.push(entry);
    },
  });
  if (!result.ok) out.warn(`the audit log does not verify (${result.firstProblem!.problem}); only the entries before that line are shown — run \`carelake audit verify\``);

  if (options.format === 'json') {
    out.info(JSON.stringify(shown));
  } else {
    const rows = shown.map((e) => [
      e.seq,
      e.at,
      e.principal,
      e.role ?? '',
      e.endpoint,
      e.outcome,
      e.status,
      e.rows ?? '',
      Math.round(e.durationMs),
      e.reportId !== null ? `report ${e.reportId}` : (e.query ?? '').replace(/\s+/g, ' ').trim(),
    ]);
    out.info(`${formatTable(['seq', 'at', 'principal', 'role', 'endpoint', 'outcome', 'status', 'rows', 'ms', 'query / report'], rows)}\n(${shown.length} entr${shown.length === 1 ? 'y' : 'ies'})`);
  }
  return shown;
}

const SPAN_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `24h`, `7d`, `30m`, `90s`, `2w` back from `now`; or an ISO date (`2026-03-01`, UTC midnight) or date-time. */
export function parseSince(text: string, now: Date): Date {
  const trimmed = text.trim();
  const span = /^(\d+)\s*([smhdw])$/i.exec(trimmed);
  if (span) return new Date(now.getTime() - Number(span[1]) * SPAN_MS[span[2]!.toLowerCase()]!);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(trimmed)) {
    const parsed = Date.parse(trimmed.replace(' ', 'T'));
    if (!Number.isNaN(parsed)) return new Date(parsed);
  }
  throw new CarelakeError({
    code: 'audit.since',
    kind: 'config',
    message: `--since '${text}' is neither a span (30m, 24h, 7d, 2w) nor an ISO date or date-time`,
    hint: 'e.g. --since 24h, --since 2026-03-01, --since 2026-03-01T09:00Z',
  });
}

function parseOutcome(text: string): AuditOutcome {
  if ((AUDIT_OUTCOMES as readonly string[]).includes(text)) return text as AuditOutcome;
  throw new CarelakeError({ code: 'audit.outcome', kind: 'config', message: `--outcome must be one of ${AUDIT_OUTCOMES.join(', ')}, not '${text}'` });
}

function principalMatcher(pattern: string): (principal: string) => boolean {
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return (p) => p.startsWith(prefix);
  }
  return (p) => p === pattern;
}
