// What a person sees in the terminal: plain lines, a progress line that rewrites itself on a TTY,
// and one clear line per failure. Logs (JSON) go to lake/logs/, not here.

import { CarelakeError, toCarelakeError } from '../core/errors.ts';

export interface Console {
  info(line: string): void;
  warn(line: string): void;
  progress(line: string): void;
  done(): void;
}

export function terminal(stream: NodeJS.WriteStream = process.stdout): Console {
  let live = false;
  const clear = () => {
    if (live) stream.write('\r\x1b[2K');
    live = false;
  };
  return {
    info: (line) => {
      clear();
      stream.write(`${line}\n`);
    },
    warn: (line) => {
      clear();
      process.stderr.write(`warning: ${line}\n`);
    },
    progress: (line) => {
      if (!stream.isTTY) return;
      stream.write(`\r\x1b[2K${line}`);
      live = true;
    },
    done: clear,
  };
}

/** `error: <what> (<where>) — <what to do>`; the stack only with --verbose. */
export function reportFailure(err: unknown, verbose: boolean): number {
  const error = toCarelakeError(err);
  process.stderr.write(`error: ${error.render()}\n`);
  if (verbose) {
    process.stderr.write(`${error.stack ?? ''}\n`);
    if (error.cause instanceof Error && error.cause.stack) process.stderr.write(`caused by: ${error.cause.stack}\n`);
  } else if (error.kind === 'internal') {
    process.stderr.write('(run again with --verbose for the stack trace)\n');
  }
  return error instanceof CarelakeError && error.kind === 'config' ? 2 : 1;
}

/** Fixed-width table for query results and status. */
export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((r) => r.map((v) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v))));
  const widths = columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length))));
  const line = (values: readonly string[]) => values.map((v, i) => v.slice(0, widths[i]).padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
