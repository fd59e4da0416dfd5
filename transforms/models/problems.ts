// The model runner's error vocabulary. Each phase collects `CarelakeError`s instead of stopping at the
// first, so a user sees every problem in a project at once; `ModelProjectError` carries the list and
// builds its message from it. The builders here hold the exact wording (kept close to dbt's, so people
// who know dbt recognise it) and always name the node and the file. Pure: no I/O.

import { CarelakeError, formatLocation, type CarelakeErrorOptions, type ErrorLocation } from '../../core/errors.ts';

/** A problem as plain, serialisable data (a `CarelakeError` without its cause). */
export type Problem = Omit<CarelakeErrorOptions, 'cause'>;

export function problemError(problem: Problem): CarelakeError {
  return new CarelakeError(problem);
}

/** Every problem found while validating a project, reported together. */
export class ModelProjectError extends CarelakeError {
  readonly problems: readonly CarelakeError[];

  constructor(problems: readonly CarelakeError[]) {
    const lines = problems.map((p) => `  - ${describe(p)}`).join('\n');
    super({
      code: 'models.invalid_project',
      kind: problems.every((p) => p.kind === 'config') ? 'config' : 'compile',
      message: `Found ${problems.length} problem${problems.length === 1 ? '' : 's'} in the dbt project; nothing was run:\n${lines}`,
    });
    this.name = 'ModelProjectError';
    this.problems = problems;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems.map((p) => p.toJSON()) };
  }
}

function describe(error: CarelakeError): string {
  const where = error.location ? ` (${formatLocation(error.location)})` : '';
  // Messages already naming their file need no location suffix repeated after them.
  const named = error.location && 'file' in error.location && error.message.includes(error.location.file);
  const hint = error.hint ? ` — ${error.hint}` : '';
  return `${error.message}${named && !hasLine(error.location) ? '' : where}${hint}`;
}

function hasLine(location: ErrorLocation | undefined): boolean {
  return location !== undefined && 'file' in location && location.line !== undefined;
}

export interface NodeRef {
  uniqueId: string;
  path: string;
}

export function unknownRefError(node: NodeRef, name: string, line?: number): CarelakeError {
  return new CarelakeError({
    code: 'models.unknown_ref',
    kind: 'compile',
    message: `Model '${node.uniqueId}' (${node.path}) depends on a model named '${name}' which was not found.`,
    location: { file: node.path, line },
    hint: `check the spelling in ref('${name}'), or add models/…/${name}.sql`,
  });
}

export function disabledRefError(node: NodeRef, name: string, line?: number): CarelakeError {
  return new CarelakeError({
    code: 'models.disabled_ref',
    kind: 'compile',
    message: `Model '${node.uniqueId}' (${node.path}) depends on a model named '${name}' which is disabled.`,
    location: { file: node.path, line },
    hint: `enable '${name}' (+enabled: true) or remove the ref`,
  });
}

export function unknownSourceError(node: NodeRef, source: string, table: string, line?: number): CarelakeError {
  return new CarelakeError({
    code: 'models.unknown_source',
    kind: 'compile',
    message: `Model '${node.uniqueId}' (${node.path}) depends on a source named '${source}.${table}' which was not found.`,
    location: { file: node.path, line },
    hint: `declare table '${table}' under source '${source}' in a .yml file under the model paths`,
  });
}

export function cycleError(cycle: readonly string[], path: string | undefined): CarelakeError {
  return new CarelakeError({
    code: 'models.cycle',
    kind: 'compile',
    message: `Found a cycle: ${cycle.join(' --> ')}`,
    location: path === undefined ? undefined : { file: path },
    hint: 'a model cannot depend on itself, directly or through other models',
  });
}

export function jinjaError(file: string, what: string, err: unknown, line?: number): CarelakeError {
  const detail = err instanceof Error ? err.message : String(err);
  return new CarelakeError({
    code: 'models.jinja',
    kind: 'compile',
    message: `Jinja ${what} in ${file}: ${detail}`,
    location: { file, line },
    hint: jinjaHint(detail),
    cause: err,
  });
}

/** The Jinja library's messages name no function or tag; these say what usually causes them. */
function jinjaHint(detail: string): string | undefined {
  if (detail.includes('Cannot call something that is not a function')) {
    return 'the template calls a macro or function that is not defined; check the spelling and macros/*.sql';
  }
  if (detail.includes("reading 'type'") || detail.startsWith('Expected') || detail.startsWith('Unexpected')) {
    return 'check that every {{ }} and {% %} is closed and every if/for/macro has its end tag';
  }
  return undefined;
}

/**
 * Best-effort line (1-based) of a call such as `ref('stg_patient')` in a model's raw text. The Jinja
 * library reports no positions, so this finds the first line mentioning the call name and every
 * argument in quotes; it only locates errors and never affects what is rendered.
 */
export function lineOfCall(text: string, call: string, args: readonly string[]): number | undefined {
  const quoted = (arg: string, line: string) => line.includes(`'${arg}'`) || line.includes(`"${arg}"`);
  const index = text.split('\n').findIndex((line) => line.includes(`${call}(`) && args.every((a) => quoted(a, line)));
  return index < 0 ? undefined : index + 1;
}
