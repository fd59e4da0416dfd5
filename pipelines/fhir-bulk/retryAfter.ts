// How long to wait before asking a Bulk Data server again. Servers send Retry-After as seconds, as an
// HTTP-date, or (against the spec, but seen in the wild) as an absolute epoch; every wait is capped,
// and with no usable header the wait grows exponentially with jitter. Pure: the clock and the random
// source are arguments.

export interface WaitBounds {
  minMs: number;
  maxMs: number;
}

export const DEFAULT_WAIT_BOUNDS: WaitBounds = { minMs: 1_000, maxMs: 60_000 };

/** Milliseconds from `nowMs` that the header asks for, or null when it is absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | null {
  if (header === null || header === undefined) return null;
  const text = header.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    // A number far larger than any sane delay is an absolute epoch, in seconds or milliseconds.
    if (n >= 1e12) return n - nowMs;
    if (n >= 1e9) return n * 1000 - nowMs;
    return n * 1000;
  }
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : date - nowMs;
}

/** The wait before attempt `attempt` (0-based): the server's wish within bounds, else backoff with full jitter. */
export function waitMs(header: string | null | undefined, attempt: number, nowMs: number, random: () => number, bounds: WaitBounds = DEFAULT_WAIT_BOUNDS): number {
  const asked = retryAfterMs(header, nowMs);
  if (asked !== null) return clamp(asked, bounds);
  const ceiling = Math.min(bounds.maxMs, bounds.minMs * 2 ** Math.min(attempt, 16));
  return clamp(bounds.minMs + random() * (ceiling - bounds.minMs), bounds);
}

function clamp(ms: number, bounds: WaitBounds): number {
  return Math.round(Math.min(bounds.maxMs, Math.max(bounds.minMs, ms)));
}
