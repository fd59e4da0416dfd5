// A report as written: one Markdown file with YAML front matter, prose, fenced SQL blocks and component
// tags (the way Evidence does BI as code). This module only splits the text into those parts, with the
// line each starts on; what the parts mean is checked by reportCompile.ts. Pure.
//
//   ---
//   title: Admissions per week
//   ---
//   Prose in Markdown …
//   ```sql weeks counts=admissions measures=mean_los
//   SELECT … FROM agg_admissions_by_week WHERE provider_ods = $provider
//   ```
//   <BarChart data="weeks" x="week" y="admissions" title="Admissions per week"/>
//
// Component tags stand alone on a line, self-closing, with double-quoted attributes only. Prose is
// rendered with raw HTML switched off, so a tag anywhere else is shown as text, never run.

import { parse as parseYaml } from 'yaml';
import { CarelakeError } from '../../../core/errors.ts';

export type ReportBlock =
  | { kind: 'prose'; line: number; markdown: string }
  | { kind: 'query'; line: number; name: string; sql: string; attributes: Record<string, string> }
  | { kind: 'component'; line: number; type: string; attributes: Record<string, string> };

export interface ReportSource {
  /** The file, for messages. */
  file: string;
  frontMatter: Record<string, unknown>;
  blocks: ReportBlock[];
}

const FENCE_OPEN = /^```sql(?:\s+(.*))?$/;
const COMPONENT = /^<([A-Z][A-Za-z]*)((?:\s+[a-zA-Z][a-zA-Z0-9_-]*="[^"]*")*)\s*\/>$/;
const ATTRIBUTE = /([a-zA-Z][a-zA-Z0-9_-]*)="([^"]*)"/g;
const QUERY_NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function parseReportSource(text: string, file: string): ReportSource {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let index = 0;
  let frontMatter: Record<string, unknown> = {};
  if (lines[0]?.trim() === '---') {
    const end = lines.findIndex((line, i) => i > 0 && line.trim() === '---');
    if (end < 0) throw problem(file, 1, 'the front matter opened with --- on line 1 is never closed with ---');
    try {
      const parsed = parseYaml(lines.slice(1, end).join('\n')) as unknown;
      if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new Error('expected key: value pairs');
      frontMatter = (parsed ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw problem(file, 2, `the front matter is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    index = end + 1;
  }

  const blocks: ReportBlock[] = [];
  let prose: string[] = [];
  let proseLine = index + 1;
  const flushProse = () => {
    if (prose.some((line) => line.trim() !== '')) blocks.push({ kind: 'prose', line: proseLine, markdown: prose.join('\n') });
    prose = [];
  };
  while (index < lines.length) {
    const line = lines[index]!;
    const lineNumber = index + 1;
    const fence = FENCE_OPEN.exec(line.trim());
    if (fence && !line.startsWith(' ')) {
      flushProse();
      const close = lines.findIndex((l, i) => i > index && l.trim() === '```');
      if (close < 0) throw problem(file, lineNumber, 'this ```sql block is never closed with ```');
      const [name, ...rest] = (fence[1] ?? '').trim().split(/\s+/).filter(Boolean);
      if (!name || !QUERY_NAME.test(name)) throw problem(file, lineNumber, `a sql block needs a name after \`\`\`sql (lower-case letters, digits and _), e.g. \`\`\`sql admissions`);
      const attributes: Record<string, string> = {};
      for (const pair of rest) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw problem(file, lineNumber, `'${pair}' after the block name is not key=value`);
        attributes[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      blocks.push({ kind: 'query', line: lineNumber, name, sql: lines.slice(index + 1, close).join('\n').trim(), attributes });
      index = close + 1;
      proseLine = index + 1;
      continue;
    }
    if (line.trimStart().startsWith('<') && /^<[A-Z]/.test(line.trim())) {
      const tag = COMPONENT.exec(line.trim());
      if (!tag) throw problem(file, lineNumber, 'a component must be one self-closing tag on its own line with double-quoted attributes, e.g. <DataTable data="weeks"/>');
      flushProse();
      const attributes: Record<string, string> = {};
      for (const match of tag[2]!.matchAll(ATTRIBUTE)) {
        if (match[1]! in attributes) throw problem(file, lineNumber, `attribute '${match[1]}' is given twice`);
        attributes[match[1]!] = match[2]!;
      }
      blocks.push({ kind: 'component', line: lineNumber, type: tag[1]!, attributes });
      index++;
      proseLine = index + 1;
      continue;
    }
    if (prose.length === 0) proseLine = lineNumber;
    prose.push(line);
    index++;
  }
  flushProse();
  return { file, frontMatter, blocks };
}

export function problem(file: string, line: number, message: string, field?: string): CarelakeError {
  return new CarelakeError({ code: 'reports.invalid', kind: 'config', message: `${file}:${line}: ${message}`, location: { file, line, field } });
}
