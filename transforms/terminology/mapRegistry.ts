// Code maps registered in the warehouse: `terminology.maps` (one row per loaded map version, with its
// file, sha256 and counts) and `terminology.map_entries` (the current version's entries, each with the
// key it is matched on). A map is loaded by streaming its file through the DuckDB appender into a
// staging table, so a UK release of hundreds of thousands of rows never sits in memory; snapshot
// semantics (latest effectiveTime per RF2 id, active rows only) are applied in SQL on the way in.
//
// Loading is idempotent: the same name, version and bytes again is a no-op; the same name and version
// from different bytes is refused (a new release needs a new version). A new version of a map replaces
// the previous one's entries; every version loaded stays listed in terminology.maps.

import { randomUUID } from 'node:crypto';
import type { ColumnType, DuckDb } from '../../core/duckdb.ts';
import { MAP_NAME } from '../../core/config.ts';
import { CarelakeError } from '../../core/errors.ts';
import { describeLocalFile } from '../../pipelines/landing/localFiles.ts';
import { rebuildCodeLookup } from './codeLookup.ts';
import { codeKey } from './codeKey.ts';
import { CODE_SYSTEMS, type MapFile, type MapFormat } from './mapEntry.ts';
import { openMapFile } from './mapFiles.ts';
import { isConceptSctid } from './sctid.ts';

export const TERMINOLOGY_SCHEMA = 'terminology';

/** Where a registered map came from: carelake.yml (kept in step with it at every build) or the CLI. */
export type MapOrigin = 'config' | 'cli';

const ENTRY_COLUMNS: readonly (readonly [name: string, type: ColumnType])[] = [
  ['line', 'BIGINT'],
  ['source_system', 'VARCHAR'],
  ['source_code', 'VARCHAR'],
  ['source_key', 'VARCHAR'],
  ['source_display', 'VARCHAR'],
  ['target_system', 'VARCHAR'],
  ['target_code', 'VARCHAR'],
  ['target_key', 'VARCHAR'],
  ['target_display', 'VARCHAR'],
  ['equivalence', 'VARCHAR'],
  ['comment', 'VARCHAR'],
  ['active', 'BOOLEAN'],
  ['row_id', 'VARCHAR'],
  ['effective_time', 'VARCHAR'],
  ['refset_id', 'VARCHAR'],
  ['map_group', 'INTEGER'],
  ['map_priority', 'INTEGER'],
  ['map_rule', 'VARCHAR'],
  ['map_advice', 'VARCHAR'],
  ['correlation_id', 'VARCHAR'],
  ['map_category_id', 'VARCHAR'],
  ['map_block', 'INTEGER'],
];

/** Creates the terminology tables when missing (and the lookup when stale), so models can read them before any map is loaded. */
export async function ensureTerminologySchema(db: DuckDb): Promise<void> {
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${TERMINOLOGY_SCHEMA}`);
  await db.run(`CREATE TABLE IF NOT EXISTS terminology.maps (
    map_name VARCHAR NOT NULL,
    map_version VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    precedence INTEGER NOT NULL,
    source_file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    facts VARCHAR,
    rows_read BIGINT NOT NULL,
    entries BIGINT NOT NULL,
    inactive_or_superseded BIGINT NOT NULL,
    unclassifiable BIGINT NOT NULL,
    source_systems VARCHAR[],
    target_systems VARCHAR[],
    latest_effective_time VARCHAR,
    loaded_at TIMESTAMPTZ NOT NULL,
    is_current BOOLEAN NOT NULL,
    PRIMARY KEY (map_name, map_version)
  )`);
  await db.run(
    `CREATE TABLE IF NOT EXISTS terminology.map_entries (map_name VARCHAR NOT NULL, map_version VARCHAR NOT NULL, ${ENTRY_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')})`,
  );
  await rebuildCodeLookup(db, { onlyIfStale: true });
}

export interface RegisterMapOptions {
  file: string;
  name: string;
  version: string;
  format?: MapFormat;
  origin: MapOrigin;
  /** Lower wins when two maps know the same code; default: after every map already registered. */
  precedence?: number;
  now: Date;
}

export interface RegisteredMap {
  name: string;
  version: string;
  format: MapFormat;
  status: 'loaded' | 'unchanged';
  rowsRead: number;
  entries: number;
  inactiveOrSuperseded: number;
  unclassifiable: number;
  /** The version this one replaced, if any. */
  replaced: string | null;
}


export async function registerMap(db: DuckDb, options: RegisterMapOptions): Promise<RegisteredMap> {
  const { name, version } = options;
  if (!MAP_NAME.test(name)) throw userError('terminology.map-name', `map name '${name}' must be letters, digits, '.', '_' or '-'`);
  if (version.trim() === '') throw userError('terminology.map-version', `map '${name}' needs a version (the release it comes from, e.g. 40.2.0 or 20251001)`);
  await ensureTerminologySchema(db);
  const identity = await describeLocalFile(options.file);
  const existing = await db.all(`SELECT sha256, format, rows_read, entries, inactive_or_superseded, unclassifiable, is_current, origin, precedence FROM terminology.maps WHERE map_name = $1 AND map_version = $2`, [name, version]);
  const previous = existing[0];
  if (previous !== undefined) {
    if (previous.sha256 !== identity.sha256) {
      throw new CarelakeError({
        code: 'terminology.version-changed',
        kind: 'config',
        message: `map '${name}' version '${version}' was loaded from a file with different contents (sha256 ${String(previous.sha256).slice(0, 12)}…, now ${identity.sha256.slice(0, 12)}…)`,
        location: { file: options.file },
        hint: 'a new release of a map needs a new version',
      });
    }
    if (previous.is_current === true) {
      if (previous.origin !== options.origin) await db.run(`UPDATE terminology.maps SET origin = $1 WHERE map_name = $2 AND map_version = $3`, [options.origin, name, version]);
      // Maps moved in carelake.yml change which one wins, without a new version.
      if (options.precedence !== undefined && Number(previous.precedence) !== options.precedence) {
        await db.run(`UPDATE terminology.maps SET precedence = $1 WHERE map_name = $2`, [options.precedence, name]);
        await rebuildCodeLookup(db);
      }
      return {
        name,
        version,
        format: previous.format as MapFormat,
        status: 'unchanged',
        rowsRead: Number(previous.rows_read),
        entries: Number(previous.entries),
        inactiveOrSuperseded: Number(previous.inactive_or_superseded),
        unclassifiable: Number(previous.unclassifiable),
        replaced: null,
      };
    }
  }

  const mapFile = await openMapFile(options.file, options.format);
  const staging = `map_load_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  await db.run(`CREATE TEMP TABLE ${staging} (${ENTRY_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`);
  try {
    const rowsRead = await appendEntries(db, staging, mapFile);
    const replaced = (await db.scalar(`SELECT map_version FROM terminology.maps WHERE map_name = $1 AND is_current AND map_version <> $2`, [name, version])) as string | null;
    const precedence =
      options.precedence ??
      Number(await db.scalar(`SELECT coalesce((SELECT any_value(precedence) FROM terminology.maps WHERE map_name = $1), (SELECT coalesce(max(precedence) + 1, 0) FROM terminology.maps))`, [name]));
    await db.run('BEGIN TRANSACTION');
    try {
      await db.run(`DELETE FROM terminology.map_entries WHERE map_name = $1`, [name]);
      // Snapshot semantics: an RF2 id's row at its latest effectiveTime decides, and if that row is
      // inactive the entry is gone (an older active row of the same id does not come back).
      await db.run(
        `INSERT INTO terminology.map_entries
         SELECT $1, $2, * FROM (
           SELECT * FROM ${staging}
           QUALIFY row_id IS NULL OR row_number() OVER (PARTITION BY row_id ORDER BY effective_time DESC, line DESC) = 1
         ) WHERE active`,
        [name, version],
      );
      const summary = (
        await db.all(
          `SELECT count(*)::BIGINT AS entries,
                  count(*) FILTER (WHERE target_code IS NULL AND starts_with(comment, '#'))::BIGINT AS unclassifiable,
                  list(DISTINCT source_system ORDER BY source_system) AS source_systems,
                  list(DISTINCT target_system ORDER BY target_system) AS target_systems,
                  (SELECT max(effective_time) FROM ${staging}) AS latest
           FROM terminology.map_entries WHERE map_name = $1`,
          [name],
        )
      )[0]!;
      const entries = Number(summary.entries);
      const unclassifiable = Number(summary.unclassifiable);
      await db.run(`UPDATE terminology.maps SET is_current = false WHERE map_name = $1`, [name]);
      await db.run(`DELETE FROM terminology.maps WHERE map_name = $1 AND map_version = $2`, [name, version]);
      await db.run(
        `INSERT INTO terminology.maps
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                (SELECT list(DISTINCT source_system ORDER BY source_system) FROM terminology.map_entries WHERE map_name = $1),
                (SELECT list(DISTINCT target_system ORDER BY target_system) FROM terminology.map_entries WHERE map_name = $1),
                $14, $15::TIMESTAMPTZ, true`,
        [
          name,
          version,
          mapFile.format,
          options.origin,
          precedence,
          options.file,
          identity.sha256,
          identity.bytes,
          JSON.stringify(mapFile.facts),
          rowsRead,
          entries,
          rowsRead - entries,
          unclassifiable,
          summary.latest as string | null,
          options.now.toISOString(),
        ],
      );
      await rebuildCodeLookup(db);
      await db.run('COMMIT');
      return { name, version, format: mapFile.format, status: 'loaded', rowsRead, entries, inactiveOrSuperseded: rowsRead - entries, unclassifiable, replaced };
    } catch (err) {
      await db.run('ROLLBACK');
      throw err;
    }
  } finally {
    await db.run(`DROP TABLE IF EXISTS temp.${staging}`);
  }
}

/** What each format calls the source and target code, for errors. */
const CODE_FIELDS: Record<MapFormat, { source: string; target: string }> = {
  rf2: { source: 'referencedComponentId', target: 'mapTarget' },
  csv: { source: 'source_code', target: 'target_code' },
  conceptmap: { source: 'element.code', target: 'element.target.code' },
};

/**
 * Streams a map file's entries into the staging table; returns how many rows were read. A SNOMED CT
 * code that is not a concept id (wrong check digit, a description id) stops the load at its line.
 */
async function appendEntries(db: DuckDb, table: string, mapFile: MapFile): Promise<number> {
  const appender = await db.rowAppender(table, ENTRY_COLUMNS.map(([, type]) => type), 'main', 'temp');
  const fields = CODE_FIELDS[mapFile.format];
  const checkConcept = (system: string, code: string | null, field: string, line: number) => {
    if (system === CODE_SYSTEMS.snomed && code !== null && !isConceptSctid(code.trim())) {
      throw new CarelakeError({
        code: 'terminology.not-a-concept',
        kind: 'parse',
        message: `${field} is not a SNOMED CT concept id (6–18 digits ending in a Verhoeff check digit, partition 00 or 10)`,
        location: { file: mapFile.file, line, field },
        hint: 'check the code for a typing or transposition error',
      });
    }
  };
  let rows = 0;
  try {
    for await (const e of mapFile.entries()) {
      checkConcept(e.sourceSystem, e.sourceCode, fields.source, e.line);
      checkConcept(e.targetSystem, e.targetCode, fields.target, e.line);
      appender.appendRow([
        e.line,
        e.sourceSystem,
        e.sourceCode,
        codeKey(e.sourceSystem, e.sourceCode),
        e.sourceDisplay,
        e.targetSystem,
        e.targetCode,
        e.targetCode === null ? null : codeKey(e.targetSystem, e.targetCode),
        e.targetDisplay,
        e.equivalence,
        e.comment,
        e.active,
        e.rowId,
        e.effectiveTime,
        e.refsetId,
        e.mapGroup,
        e.mapPriority,
        e.mapRule,
        e.mapAdvice,
        e.correlationId,
        e.mapCategoryId,
        e.mapBlock,
      ]);
      rows++;
    }
  } finally {
    appender.close();
  }
  return rows;
}

/** Drops a map (every version) and its entries. */
export async function removeMap(db: DuckDb, name: string): Promise<boolean> {
  await ensureTerminologySchema(db);
  const known = Number(await db.scalar(`SELECT count(*) FROM terminology.maps WHERE map_name = $1`, [name])) > 0;
  if (!known) return false;
  await db.run('BEGIN TRANSACTION');
  try {
    await db.run(`DELETE FROM terminology.map_entries WHERE map_name = $1`, [name]);
    await db.run(`DELETE FROM terminology.maps WHERE map_name = $1`, [name]);
    await rebuildCodeLookup(db);
    await db.run('COMMIT');
  } catch (err) {
    await db.run('ROLLBACK');
    throw err;
  }
  return true;
}

function userError(code: string, message: string): CarelakeError {
  return new CarelakeError({ code, kind: 'config', message });
}
