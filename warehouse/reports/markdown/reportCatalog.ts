// The reports folder: every `.md` file under it is a report, its id the path without `.md`
// (`admissions`, `practice/[code]`). Loaded and compiled together; a report that does not compile is
// set aside with its problem (the server leaves it out and says so; `carelake reports check` fails),
// so one broken file never takes the others down and never half-renders.

import { readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { glob } from 'tinyglobby';
import { CarelakeError, fileSystemError, toCarelakeError } from '../../../core/errors.ts';
import { BUNDLED_REPORTS_DIR } from '../../../core/config.ts';
import { compileReport, type CompiledReport } from './reportCompile.ts';
import { parseReportSource } from './reportSource.ts';

export interface ReportCatalog {
  dir: string;
  reports: CompiledReport[];
  /** Files that did not compile, with why. */
  broken: { file: string; error: CarelakeError }[];
}

export async function loadReportCatalog(dir: string = BUNDLED_REPORTS_DIR): Promise<ReportCatalog> {
  let files: string[];
  try {
    files = (await glob('**/*.md', { cwd: dir, absolute: true, onlyFiles: true })).sort();
  } catch (err) {
    throw fileSystemError('read the reports folder', dir, err);
  }
  const reports: CompiledReport[] = [];
  const broken: ReportCatalog['broken'] = [];
  for (const file of files) {
    const id = relative(dir, file).split(sep).join('/').replace(/\.md$/, '');
    // Named as a person at the terminal would write it: relative to where the command runs.
    const shown = relative(process.cwd(), file) || file;
    try {
      reports.push(compileReport(parseReportSource(await readFile(file, 'utf8'), shown), id));
    } catch (err) {
      broken.push({ file: shown, error: toCarelakeError(err) });
    }
  }
  return { dir, reports, broken };
}

/** The report a path under /reports/ names, and its route values; null when none matches. */
export function matchReport(catalog: ReportCatalog, path: string): { report: CompiledReport; route: Record<string, string> } | null {
  const parts = path.split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return '\u0000';
    }
  });
  // Exact names win over [param] segments (reports/practice/index.md before reports/practice/[code].md).
  const candidates = [...catalog.reports].sort((a, b) => a.routeParams.length - b.routeParams.length);
  for (const report of candidates) {
    const segments = report.id.split('/');
    if (segments.length !== parts.length) continue;
    const route: Record<string, string> = {};
    if (segments.every((s, i) => (s.startsWith('[') ? ((route[s.slice(1, -1)] = parts[i]!), true) : s === parts[i]))) return { report, route };
  }
  return null;
}
