// The one module that knows how @huggingface/jinja works inside. It parses templates with dbt's
// whitespace settings (no trim_blocks / lstrip_blocks), installs context functions that see keyword
// arguments as keyword arguments (the library's plain-function bridge would merge them into an
// ordinary dict), returns relations that render as text yet expose `.schema` / `.identifier`, loads the
// project's macro files into each render, and gives dbt's `return()` its meaning inside macros.
// The library's own globals are replaced: `strftime_now` would read the clock, and `raise_exception`
// is not dbt's; dbt's `exceptions.raise_compiler_error` and `log` are provided instead. Pure: no I/O.

import { Environment, Interpreter, parse, tokenize } from '@huggingface/jinja';
import type { CarelakeError } from '../../core/errors.ts';
import { isRecord } from './modelConfig.ts';
import { jinjaError } from './problems.ts';

export type JinjaProgram = ReturnType<typeof parse>;
type RuntimeValue = ReturnType<Environment['set']>;
type RuntimeFunction = (args: RuntimeValue[], scope: Environment) => RuntimeValue;

/** Arguments of a call from a template, split as Jinja/Python would split them. */
export interface JinjaCall {
  positional: unknown[];
  keyword: Record<string, unknown>;
}

export type JinjaFunction = (call: JinjaCall) => unknown;

/** A relation: renders as `rendered`, and `{{ x.schema }}` etc. read its attributes. */
export class JinjaRelation {
  constructor(
    readonly rendered: string,
    readonly attributes: Readonly<Record<string, string | null>>,
  ) {}
}

export interface JinjaScope {
  values: Record<string, unknown>;
  functions: Record<string, JinjaFunction>;
}

/** An error raised on purpose by a template (`exceptions.raise_compiler_error`). */
export class TemplateRaisedError extends Error {}

/** Parses a template; a syntax error becomes a CarelakeError naming the file. */
export function parseTemplate(file: string, source: string): JinjaProgram {
  try {
    return parse(tokenize(source, { lstrip_blocks: false, trim_blocks: false }));
  } catch (err) {
    throw jinjaError(file, 'syntax error', err).withNode(`template ${file}`);
  }
}

export interface MacroFile {
  path: string;
  program: JinjaProgram;
  names: string[];
}

/** The project's macro files, parsed once and replayed into every render. */
export class MacroLibrary {
  private constructor(readonly files: readonly MacroFile[]) {}

  static parse(files: readonly { path: string; contents: string }[]): { library: MacroLibrary; problems: CarelakeError[] } {
    const parsed: MacroFile[] = [];
    const problems: CarelakeError[] = [];
    for (const file of files) {
      try {
        const program = parseTemplate(file.path, file.contents);
        parsed.push({ path: file.path, program, names: macroNames(program) });
      } catch (err) {
        problems.push(err as CarelakeError);
      }
    }
    return { library: new MacroLibrary(parsed), problems };
  }

  static readonly empty = new MacroLibrary([]);

  has(name: string): boolean {
    return this.files.some((f) => f.names.includes(name));
  }

  /** `macro.<project>.<name>` for every macro, with its file. */
  list(): { name: string; path: string }[] {
    return this.files.flatMap((f) => f.names.map((name) => ({ name, path: f.path })));
  }
}

function macroNames(program: JinjaProgram): string[] {
  const names: string[] = [];
  for (const statement of program.body) {
    if (statement.type !== 'Macro') continue;
    const name = (statement as unknown as { name?: { value?: unknown } }).name?.value;
    if (typeof name === 'string') names.push(name);
  }
  return names;
}

/** Renders a parsed template. Errors are thrown as they come; callers name the file. */
export function renderProgram(program: JinjaProgram, scope: JinjaScope, macros: MacroLibrary): string {
  const env = new Environment();
  installGlobals(env);
  for (const [name, value] of Object.entries(scope.values)) env.setVariable(name, toRuntime(value));
  for (const [name, fn] of Object.entries(scope.functions)) env.setVariable(name, runtimeFunction(fn));
  const interpreter = new Interpreter(env);
  for (const file of macros.files) interpreter.run(file.program);
  for (const file of macros.files) {
    for (const name of file.names) {
      const macro = env.variables.get(name);
      if (macro) env.setVariable(name, withReturn(macro));
    }
  }
  return String(interpreter.run(program).value);
}

/** Renders a short template string (e.g. a YAML value) with no macros. */
export function renderString(file: string, source: string, scope: JinjaScope): string {
  return renderProgram(parseTemplate(file, source), scope, MacroLibrary.empty);
}

// ---- bridging JS values and the library's runtime values ----------------------------------------

// The library exports no value classes; one probe gives the FunctionValue constructor, so context
// functions can receive raw arguments (and so tell keyword arguments apart from a dict argument).
const FunctionValue = new Environment().set('probe', () => null).constructor as unknown as new (fn: RuntimeFunction) => RuntimeValue;

/** Thrown by `return(x)` and caught by the macro call around it; escaping a macro it is an error. */
class MacroReturn extends Error {
  constructor(readonly value: RuntimeValue) {
    super('return() was called outside a macro');
  }
}

function toRuntime(value: unknown): RuntimeValue {
  if (value instanceof JinjaRelation) {
    const text = new Environment().set('v', value.rendered);
    const attributes = text.builtins;
    if (attributes instanceof Map) {
      for (const [key, attr] of Object.entries(value.attributes)) attributes.set(key, toRuntime(attr));
    }
    return text;
  }
  if (Array.isArray(value) && value.some((v) => v instanceof JinjaRelation)) {
    const list = new Environment().set('v', []);
    if (Array.isArray(list.value)) for (const item of value) list.value.push(toRuntime(item));
    return list;
  }
  return new Environment().set('v', value);
}

/** A runtime value as plain JS: maps become objects, lists arrays, undefined stays undefined. */
export function toPlain(value: RuntimeValue): unknown {
  const inner: unknown = value.value;
  if (value.type === 'FunctionValue' || value.type === 'UndefinedValue') return undefined;
  // The library builds NullValue without a value, so its `.value` is undefined rather than null.
  if (value.type === 'NullValue') return null;
  if (inner instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of inner as Map<string, RuntimeValue>) out[key] = toPlain(item);
    return out;
  }
  if (Array.isArray(inner)) return (inner as RuntimeValue[]).map(toPlain);
  return inner;
}

function runtimeFunction(fn: JinjaFunction): RuntimeValue {
  return new FunctionValue((args) => {
    const call: JinjaCall = { positional: [], keyword: {} };
    for (const arg of args) {
      if (arg.type === 'KeywordArgumentsValue') {
        const keyword = toPlain(arg);
        if (isRecord(keyword)) call.keyword = keyword;
      } else call.positional.push(toPlain(arg));
    }
    return toRuntime(fn(call) ?? null);
  });
}

/** dbt macros may `{{ return(x) }}`: the call's value is x, not the rendered text. */
function withReturn(macro: RuntimeValue): RuntimeValue {
  const inner = macro.value;
  if (typeof inner !== 'function') return macro;
  const call = inner as RuntimeFunction;
  return new FunctionValue((args, scope) => {
    try {
      return call(args, scope);
    } catch (signal) {
      if (signal instanceof MacroReturn) return signal.value;
      throw signal;
    }
  });
}

function installGlobals(env: Environment): void {
  for (const [name, value] of [
    ['true', true],
    ['false', false],
    ['none', null],
    ['True', true],
    ['False', false],
    ['None', null],
  ] as const) {
    env.set(name, value);
  }
  env.setVariable('range', runtimeFunction(({ positional }) => range(positional)));
  env.setVariable(
    'return',
    new FunctionValue((args) => {
      throw new MacroReturn(args[0] ?? toRuntime(null));
    }),
  );
  env.setVariable('log', runtimeFunction(() => ''));
  env.set('exceptions', {
    raise_compiler_error: (message: unknown) => {
      throw new TemplateRaisedError(String(message));
    },
    warn: () => '',
  });
}

function range(args: unknown[]): number[] {
  const numbers = args.map((a) => (typeof a === 'number' ? a : Number.NaN));
  if (numbers.some((n) => !Number.isInteger(n))) throw new TypeError('range() takes whole numbers');
  const [a = 0, b, step = 1] = numbers;
  const [start, stop] = b === undefined ? [0, a] : [a, b];
  if (step === 0) throw new RangeError('range() step must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}
