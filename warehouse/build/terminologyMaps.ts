// The maps carelake.yml names, registered in the warehouse before models run: each configured map is
// loaded when its name, version and bytes are new (a no-op otherwise), and a map that was configured
// before but is no longer is removed, so terminology.* always reflects the config. Maps loaded by hand
// (`carelake terminology load`) are left alone.

import { basename } from 'node:path';
import { DEMO_MAP_FILE, DEMO_MAP_NAME, type CarelakeConfig } from '../../core/config.ts';
import type { DuckDb } from '../../core/duckdb.ts';
import { describeLocalFile } from '../../pipelines/landing/localFiles.ts';
import { ensureTerminologySchema, registerMap, removeMap, type RegisteredMap } from '../../transforms/terminology/mapRegistry.ts';
import type { MapFormat } from '../../transforms/terminology/mapEntry.ts';

export interface ConfiguredMapsSync {
  registered: RegisteredMap[];
  removed: string[];
}

export async function registerConfiguredMaps(db: DuckDb, config: CarelakeConfig, now: Date): Promise<ConfiguredMapsSync> {
  await ensureTerminologySchema(db);
  const wanted: { name: string; version: string; path: string; format?: MapFormat }[] = [...config.terminology.maps];
  if (config.terminology.demoMap) {
    // Versioned by content, so a new carelake release with a changed demo map replaces the old one.
    const { sha256 } = await describeLocalFile(DEMO_MAP_FILE);
    wanted.push({ name: DEMO_MAP_NAME, version: `bundled-${sha256.slice(0, 12)}`, path: DEMO_MAP_FILE, format: 'csv' });
  }
  const registered: RegisteredMap[] = [];
  for (const [precedence, map] of wanted.entries()) {
    registered.push(await registerMap(db, { file: map.path, name: map.name, version: map.version, format: map.format, origin: 'config', precedence, now }));
  }
  const names = new Set(wanted.map((m) => m.name));
  const configured = (await db.all(`SELECT DISTINCT map_name FROM terminology.maps WHERE origin = 'config' ORDER BY map_name`)).map((r) => String(r.map_name));
  const removed: string[] = [];
  for (const name of configured) {
    if (!names.has(name) && (await removeMap(db, name))) removed.push(name);
  }
  return { registered, removed };
}

/** `uk-icd10 40.2.0 (der2_….txt): 312,406 entries` for logs and the CLI. */
export function describeRegisteredMap(map: RegisteredMap, file?: string): string {
  const from = file === undefined ? '' : ` (${basename(file)})`;
  if (map.status === 'unchanged') return `${map.name} ${map.version}${from}: already loaded, ${map.entries.toLocaleString('en-GB')} entries`;
  const dropped = map.inactiveOrSuperseded > 0 ? `, ${map.inactiveOrSuperseded.toLocaleString('en-GB')} inactive or superseded rows left out` : '';
  const unclassifiable = map.unclassifiable > 0 ? `, ${map.unclassifiable.toLocaleString('en-GB')} not classifiable (#NC/#NIS)` : '';
  const replaced = map.replaced === null ? '' : `, replacing version ${map.replaced}`;
  return `${map.name} ${map.version}${from}: ${map.entries.toLocaleString('en-GB')} entries from ${map.rowsRead.toLocaleString('en-GB')} rows${dropped}${unclassifiable}${replaced}`;
}
