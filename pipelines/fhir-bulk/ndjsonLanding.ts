// Lands one local Bulk Data NDJSON file into the raw dataset of its resource type. The fast path lets
// DuckDB read, check and write the lines in one pass (JSON.parse per line in JavaScript runs at a
// fifth of DuckDB's speed); lines it flags are re-checked in JavaScript so a quarantined line gets the
// same exact reason either way. If DuckDB cannot read the file as lines at all (its column separator
// \x1e in the file, invalid UTF-8), the whole file takes the line-by-line JavaScript path instead.

import { createReadStream } from 'node:fs';
import { quoteLiteral } from '../../core/sql.ts';
import type { FileLanding, SourceFile } from '../landing/fileLanding.ts';
import { readLines } from '../landing/localFiles.ts';
import { checkResourceLine, fhirResourceDataset } from './resourceLine.ts';

export interface NdjsonLandingResult {
  /** Non-blank lines read: what a manifest `count` is reconciled against. */
  lines: number;
  path: 'duckdb' | 'javascript';
  /** Why the JavaScript path was taken, for the log. */
  fallbackReason?: string;
}

/**
 * Longest line DuckDB reads (its read buffer is a multiple of this, so it must stay modest); a file
 * with a longer line — a resource with a large inline attachment — takes the JavaScript path.
 */
const MAX_LINE_BYTES = 1024 * 1024;

/** DuckDB reads a line-delimited file as one VARCHAR column; \x1e cannot occur unescaped in valid JSON. */
function linesSql(path: string): string {
  return `SELECT line, row_number() OVER () AS _record
          FROM read_csv(${quoteLiteral(path)}, columns = {'line': 'VARCHAR'}, header = false, delim = E'\\x1e', quote = '', escape = '',
                        auto_detect = false, strict_mode = true, parallel = false, max_line_size = ${MAX_LINE_BYTES})`;
}

/** The column a `keep` predicate (a _typeFilter re-applied locally) reads the resource JSON from. */
export const FILTER_COLUMN = 'resource';

/** Every non-blank line with what the checks need: id, type and lastUpdated extracted once. */
export function resourceLinesSql(path: string): string {
  return `SELECT _record, f[1] AS id, f[2] AS resource_type, f[3] AS last_updated, line AS resource
          FROM (
            SELECT _record, line,
                   CASE WHEN json_valid(line) THEN json_extract_string(line, ['$.id', '$.resourceType', '$.meta.lastUpdated']) END AS f
            FROM (${linesSql(path)})
            WHERE line IS NOT NULL
          )`;
}

/**
 * 'ok' only for what checkResourceLine would accept (valid JSON, an id, the declared type; a non-object
 * never yields both), then 'filtered' for what `keep` rejects. Whitespace-only lines (rare, and costly
 * to trim in SQL) come back as problems and are skipped in JavaScript, as the line-by-line path skips them.
 */
export function resourceStatusSql(resourceType: string, keep?: string): string {
  const kept = keep ? `WHEN NOT (${keep}) THEN 'filtered'` : '';
  return `CASE WHEN id IS NULL OR id = '' OR resource_type IS DISTINCT FROM ${quoteLiteral(resourceType)} THEN 'problem' ${kept} ELSE 'ok' END`;
}

/** The separator DuckDB splits columns on; a file holding it (only ever invalid JSON) is read in JS. */
const SEPARATOR = 0x1e;

/**
 * `keep`, when given, is a SQL predicate over FILTER_COLUMN (a _typeFilter re-applied locally): valid
 * resources it rejects are counted as filtered, not landed.
 */
export async function landNdjsonResources(landing: FileLanding, file: SourceFile, resourceType: string, keep?: string, dataset = resourceType): Promise<NdjsonLandingResult> {
  const path = file.localPath;
  if (!path) throw new Error(`landNdjsonResources needs a local copy of ${file.location}`);
  // DuckDB drops a trailing separator silently, which would land a truncated line: rule it out first
  // (from what was noted while the file was hashed, or by reading it).
  if (file.hasRecordSeparator ?? (await fileContainsByte(path, SEPARATOR))) return { ...(await landNdjsonLineByLine(landing, path, resourceType, keep, dataset)), fallbackReason: 'the file contains the byte 0x1e' };
  let problems = 0;
  try {
    const { landed, counted } = await landing.landQuery(
      fhirResourceDataset(dataset),
      resourceLinesSql(path),
      resourceStatusSql(resourceType, keep),
      async (row) => {
        if (row.original.trim() === '') return; // whitespace only: not a record
        problems++;
        const checked = checkResourceLine(row.original, resourceType);
        // DuckDB and JavaScript disagreeing on a line is a bug to see, not to paper over.
        const reason = checked.ok ? 'DuckDB and the JSON parser disagree on this line; quarantined for review' : checked.reason;
        await landing.reject({ record: `line ${row.record}`, field: checked.ok ? undefined : (checked.field ?? undefined), reason, original: row.original });
      },
      { countOnly: ['filtered'] },
    );
    const filtered = counted.filtered ?? 0;
    landing.recordFiltered(filtered);
    return { lines: landed + problems + filtered, path: 'duckdb' };
  } catch (err) {
    if (problems > 0) throw err; // rejects already written: a fallback would double them
    return { ...(await landNdjsonLineByLine(landing, path, resourceType, keep, dataset)), fallbackReason: (err as Error).message.split('\n')[0] };
  }
}

async function fileContainsByte(path: string, byte: number): Promise<boolean> {
  for await (const chunk of createReadStream(path)) if ((chunk as Buffer).includes(byte)) return true;
  return false;
}

/** The exact path: every line parsed in JavaScript (a filter, if any, still evaluated by DuckDB). */
async function landNdjsonLineByLine(landing: FileLanding, path: string, resourceType: string, keep?: string, datasetName = resourceType): Promise<NdjsonLandingResult> {
  const dataset = fhirResourceDataset(datasetName);
  let lines = 0;
  for await (const { line, text } of readLines(path)) {
    if (text.trim() === '') continue; // a blank line is not a record
    lines++;
    const checked = checkResourceLine(text, resourceType);
    if (!checked.ok) await landing.reject({ record: `line ${line}`, field: checked.field ?? undefined, reason: checked.reason, original: text });
    else if (keep && !(await landing.matches(keep, FILTER_COLUMN, text))) landing.recordFiltered();
    else await landing.append(dataset, line, text, [checked.id, checked.resourceType, checked.lastUpdated]);
  }
  return { lines, path: 'javascript' };
}
