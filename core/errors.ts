// One error type for the whole project. Every failure a user can cause or meet says what failed,
// where (file and line, or source and record key), why, and what to do — and never carries row values,
// patient identifiers or secrets, so `toJSON()` is always safe to log.

export type ErrorKind = 'parse' | 'compile' | 'runtime' | 'config' | 'internal';

export interface FileLocation {
  file: string;
  line?: number;
  column?: number;
  field?: string;
}

export interface RecordLocation {
  source: string;
  recordKey: string;
  field?: string;
}

export type ErrorLocation = FileLocation | RecordLocation;

export interface CarelakeErrorOptions {
  code: string;
  kind: ErrorKind;
  message: string;
  location?: ErrorLocation;
  hint?: string;
  cause?: unknown;
}

export class CarelakeError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly location: ErrorLocation | undefined;
  readonly hint: string | undefined;
  readonly context: readonly string[];

  constructor(options: CarelakeErrorOptions, context: readonly string[] = []) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CarelakeError';
    this.code = options.code;
    this.kind = options.kind;
    this.location = options.location;
    this.hint = options.hint;
    this.context = context;
  }

  /** Adds a "called by" line as the error travels up, e.g. `in model stg_patient (models/x.sql:14)`. */
  withNode(node: string): CarelakeError {
    const copy = new CarelakeError(
      { code: this.code, kind: this.kind, message: this.message, location: this.location, hint: this.hint, cause: this.cause },
      [...this.context, node],
    );
    copy.stack = this.stack;
    return copy;
  }

  /** One line for a terminal: what, where, what to do. */
  render(): string {
    const where = this.location ? ` (${formatLocation(this.location)})` : '';
    const hint = this.hint ? ` — ${this.hint}` : '';
    const context = this.context.map((c) => `\n  called by ${c}`).join('');
    return `${this.message}${where}${hint}${context}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      kind: this.kind,
      message: this.message,
      location: this.location,
      hint: this.hint,
      context: this.context,
    };
  }
}

export function formatLocation(location: ErrorLocation): string {
  if ('file' in location) {
    const parts = [location.file];
    if (location.line !== undefined) parts.push(String(location.line));
    if (location.column !== undefined) parts.push(String(location.column));
    const field = location.field ? `, field ${location.field}` : '';
    return parts.join(':') + field;
  }
  const field = location.field ? `, field ${location.field}` : '';
  return `source ${location.source}, record ${location.recordKey}${field}`;
}

/** Foreign errors are translated once, at the boundary; anything unknown is an internal error. */
export function toCarelakeError(err: unknown): CarelakeError {
  if (err instanceof CarelakeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CarelakeError({ code: 'internal', kind: 'internal', message, cause: err });
}

/** Node's filesystem errors, named for a person: what could not be done to which path, and why. */
export function fileSystemError(action: string, path: string, err: unknown): CarelakeError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'ENOENT'
      ? 'it does not exist'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'ENOTDIR'
            ? 'a parent is not a directory'
            : err instanceof Error
              ? err.message
              : String(err);
  return new CarelakeError({
    code: `fs.${code ?? 'error'}`.toLowerCase(),
    kind: 'runtime',
    message: `Cannot ${action} ${path}: ${why}`,
    location: { file: path },
    hint: code === 'EACCES' || code === 'EPERM' ? 'check the file permissions' : undefined,
    cause: err,
  });
}
