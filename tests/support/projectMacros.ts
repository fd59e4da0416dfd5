// Renders a template with the project's own macro files (macros/*.sql), for tests that check a SQL
// macro against its TypeScript twin.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MacroLibrary, parseTemplate, renderProgram, type JinjaFunction } from '../../transforms/models/jinja.ts';
import { projectRoot } from '../sharedData.ts';

/** `functions` stand in for what the model runner provides, e.g. `source`. */
export function renderWithProjectMacros(template: string, name = 'test', functions: Record<string, JinjaFunction> = {}): string {
  const dir = join(projectRoot, 'macros');
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => ({ path: `macros/${file}`, contents: readFileSync(join(dir, file), 'utf8') }));
  const { library, problems } = MacroLibrary.parse(files);
  if (problems.length > 0) throw problems[0];
  return renderProgram(parseTemplate(name, template), { values: {}, functions }, library);
}
