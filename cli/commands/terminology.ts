// `carelake terminology load|translate|list|remove`: code maps in the warehouse. `load` registers a
// map file by hand (a TRUD release to try before putting it in carelake.yml, a local CSV); it takes the
// warehouse lock, as a build does. `translate` shows what the curated layer does with one code.

import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { withDuckDb, type DuckDb } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import { withLock } from '../../core/lakeLock.ts';
import { ensureTerminologySchema, registerMap, removeMap } from '../../transforms/terminology/mapRegistry.ts';
import type { MapFormat } from '../../transforms/terminology/mapEntry.ts';
import { translateCode, type Translation } from '../../transforms/terminology/translate.ts';
import { describeRegisteredMap } from '../../warehouse/build/terminologyMaps.ts';
import { formatTable, type Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

export interface TerminologyLoadOptions {
  name: string;
  version: string;
  format?: MapFormat;
}

export async function terminologyLoadCommand(ctx: CommandContext, file: string, options: TerminologyLoadOptions, out: Console, now = new Date()): Promise<void> {
  const map = await withWarehouse(ctx, 'terminology load', (db) => registerMap(db, { file, name: options.name, version: options.version, format: options.format, origin: 'cli', now }));
  out.info(describeRegisteredMap(map, file));
  if (map.status === 'loaded') out.info('Run `carelake build` to map the curated facts with it.');
}

export async function terminologyRemoveCommand(ctx: CommandContext, name: string, out: Console): Promise<void> {
  const removed = await withWarehouse(ctx, 'terminology remove', (db) => removeMap(db, name));
  if (!removed) throw new CarelakeError({ code: 'terminology.unknown-map', kind: 'config', message: `no map named '${name}' is registered`, hint: 'see `carelake terminology list`' });
  out.info(`Removed map ${name}. A map still listed in carelake.yml comes back at the next build.`);
}

export async function terminologyTranslateCommand(ctx: CommandContext, request: { system: string; code: string; map?: string }, out: Console): Promise<Translation> {
  const translation = await readWarehouse(ctx, (db) => translateCode(db, request));
  out.info(JSON.stringify(translation, null, 2));
  return translation;
}

export async function terminologyListCommand(ctx: CommandContext, out: Console): Promise<void> {
  const table = await readWarehouse(ctx, (db) =>
    db.table(`SELECT map_name, map_version, format, origin, precedence, entries, inactive_or_superseded, unclassifiable,
                     array_to_string(source_systems, ' ') AS source_systems, strftime(loaded_at, '%Y-%m-%d %H:%M') AS loaded_at, is_current
              FROM terminology.maps ORDER BY is_current DESC, precedence, map_name, loaded_at DESC`),
  );
  out.info(table.rows.length === 0 ? 'No maps registered.' : formatTable(table.columns, table.rows));
}

/** The warehouse read-write under its lock, with the terminology tables in place. */
async function withWarehouse<T>(ctx: CommandContext, purpose: string, work: (db: DuckDb) => Promise<T>): Promise<T> {
  mkdirSync(dirname(ctx.layout.warehouse), { recursive: true });
  return withLock(ctx.layout.warehouseLock, purpose, () =>
    withDuckDb(ctx.layout.warehouse, {}, async (db) => {
      await ensureTerminologySchema(db);
      return work(db);
    }),
  );
}

async function readWarehouse<T>(ctx: CommandContext, work: (db: DuckDb) => Promise<T>): Promise<T> {
  const missing = new CarelakeError({
    code: 'terminology.no-maps',
    kind: 'runtime',
    message: `no code maps are registered in ${ctx.layout.warehouse}`,
    hint: 'run `carelake build` (it registers the maps carelake.yml names) or `carelake terminology load <file>`',
  });
  if (!existsSync(ctx.layout.warehouse)) throw missing;
  return withDuckDb(ctx.layout.warehouse, { readOnly: true }, async (db) => {
    if (Number(await db.scalar(`SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'terminology' AND table_name = 'code_lookup'`)) === 0) throw missing;
    return work(db);
  });
}
