// Builds transforms/sqlOnFhir/fhirR4Model.generated.ts from the FHIR R4 model that the `fhirpath`
// package ships (element types, repeating elements, choice types, content references). The compiler
// needs it to know, before running anything, whether `name` is a list, that `active` is a boolean and
// that `value.ofType(Quantity)` is `valueQuantity`. It is a devDependency, so the model is copied into a
// generated source file rather than imported at run time; tests/unit/sqlOnFhir/fhirModel.test.ts fails
// when the two drift. Regenerate: `node --import tsx tests/support/fhirR4ModelSource.ts --write`.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const generatedModelPath = resolve(dirname(fileURLToPath(import.meta.url)), '../../transforms/sqlOnFhir/fhirR4Model.generated.ts');

type PathType = string | { code: string; refType?: string[] };

/** Element ids, extensions and modifier extensions are the same everywhere; fhirModel.ts adds them. */
const GENERIC_ELEMENTS = new Set(['id', 'extension', 'modifierExtension']);

function modelDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('fhirpath/package.json')), 'fhir-context', 'r4');
}

function readJson<T>(dir: string, file: string): T {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
}

/** Choice type names come capitalised (`DateTime`); primitives are written lower-camel (`dateTime`). */
function choiceTypeName(name: string, primitives: ReadonlySet<string>): string {
  const lower = name.charAt(0).toLowerCase() + name.slice(1);
  return primitives.has(lower) ? lower : name;
}

function isTypedChoiceName(path: string, choices: Readonly<Record<string, string[]>>): boolean {
  const match = /^(.*\.[a-z][A-Za-z0-9]*?)([A-Z][A-Za-z0-9]*)$/.exec(path);
  if (!match) return false;
  for (let cut = path.length - 1; cut > path.lastIndexOf('.') + 1; cut--) {
    const base = path.slice(0, cut);
    const suffix = path.slice(cut);
    if (/^[A-Z]/.test(suffix) && choices[base]?.includes(suffix)) return true;
  }
  return false;
}

export function fhirR4ModelSource(): string {
  const dir = modelDir();
  const path2Type = readJson<Record<string, PathType>>(dir, 'path2Type.json');
  const repeating = new Set(readJson<string[]>(dir, 'path2Repeating.json'));
  const choices = readJson<Record<string, string[]>>(dir, 'choiceTypePaths.json');
  const elsewhere = readJson<Record<string, string>>(dir, 'pathsDefinedElsewhere.json');
  const parents = readJson<Record<string, string>>(dir, 'type2Parent.json');
  const primitives = new Set(Object.keys(parents).filter((t) => /^[a-z]/.test(t)));

  const byParent = new Map<string, string[]>();
  const add = (path: string, entry: string) => {
    const parent = path.slice(0, path.lastIndexOf('.'));
    const list = byParent.get(parent) ?? [];
    list.push(entry);
    byParent.set(parent, list);
  };
  const allPaths = new Set([...Object.keys(path2Type), ...Object.keys(choices), ...Object.keys(elsewhere)]);
  for (const path of [...allPaths].sort()) {
    const name = path.slice(path.lastIndexOf('.') + 1);
    if (!path.includes('.') || GENERIC_ELEMENTS.has(name)) continue;
    // A typed choice name (`valueQuantity`) is reached through its choice element (`value`).
    if (isTypedChoiceName(path, choices)) continue;
    // A content reference repeats as its target does (QuestionnaireResponse.item.item).
    const many = repeating.has(path) || (elsewhere[path] !== undefined && repeating.has(elsewhere[path])) ? '*' : '';
    let type: string;
    if (choices[path]) type = choices[path].map((t) => choiceTypeName(t, primitives)).join('|');
    else if (elsewhere[path]) type = `=${elsewhere[path]}`;
    else {
      const declared = path2Type[path]!;
      const code = typeof declared === 'string' ? declared : declared.code;
      type = code === 'BackboneElement' || code === 'Element' ? '@' : code === 'System.String' ? 'string' : code;
    }
    add(path, `${name}${many}:${type}`);
  }

  const lines = [
    '// Generated — do not edit. Built by tests/support/fhirR4ModelSource.ts from the FHIR R4 model shipped',
    '// in the `fhirpath` package. Each entry lists a type\'s own elements as `name[*]:type`: `*` repeats,',
    '// `@` is a backbone element (its type is its own path), `=Path` reuses another element\'s definition,',
    '// `a|b` lists a choice element\'s types. `id`, `extension` and `modifierExtension` are left out.',
    '',
    'export const R4_PARENT_TYPES: Readonly<Record<string, string>> = {',
    ...Object.keys(parents).sort().map((t) => `  ${JSON.stringify(t)}: ${JSON.stringify(parents[t])},`),
    '};',
    '',
    'export const R4_ELEMENTS: Readonly<Record<string, string>> = {',
    ...[...byParent.keys()].sort().map((p) => `  ${JSON.stringify(p)}: ${JSON.stringify(byParent.get(p)!.join(' '))},`),
    '};',
    '',
  ];
  return lines.join('\n');
}

if (process.argv.includes('--write')) {
  writeFileSync(generatedModelPath, fhirR4ModelSource());
  console.log(`wrote ${generatedModelPath}`);
}
