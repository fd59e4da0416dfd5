// Terminology: load a UK-sized RF2 extended map (MAP_ROWS rows, UK Clinical Edition layout, generated
// with the shape of the real one: hundreds of thousands of concepts onto some twenty thousand ICD-10
// codes, `#NC` targets, conditional rows, superseded and inactive history), then map FACTS coded
// facts through map_to_snomed (macros/terminology.sql) exactly as the curated models do — ICD-10 in
// every form, local lab codes through a CSV map, SNOMED CT sent as is.
//
// Baseline, in the same process and database: the same facts left-joined on the raw code to the
// preferred concept per code — what a hand-written mapping query would do, without normalising the
// code, reading the rule or keeping provenance. Its coverage is printed too: it misses every code
// not sent in the map's own spelling.

import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { DEMO_MAP_FILE } from '../core/config.ts';
import { withDuckDb, type DuckDb } from '../core/duckdb.ts';
import { quoteLiteral } from '../core/sql.ts';
import { registerMap } from '../transforms/terminology/mapRegistry.ts';
import { CODE_SYSTEMS } from '../transforms/terminology/mapEntry.ts';
import { RF2_COLUMNS } from '../transforms/terminology/rf2ExtendedMap.ts';
import { withCheckDigit } from '../transforms/terminology/sctid.ts';
import { renderWithProjectMacros } from '../tests/support/projectMacros.ts';
import { Random } from '../synthetic/random.ts';
import { fmt, measure } from './measure.ts';

const MAP_ROWS = 600_000;
/** A quarter-size map loaded first, to show how load memory grows with the map. */
const SMALL_MAP_ROWS = 150_000;
const FACTS = 10_000_000;
const SEED = 8;
/** DuckDB's working memory is capped, as a production warehouse's would be; beyond it DuckDB spills to disk. */
const DUCKDB_SETTINGS = { threads: '2', preserve_insertion_order: 'false', memory_limit: '1GB' };
const LOCAL_LAB = 'https://carelake.example.nhs.uk/CodeSystem/local-lab';
const LAB_CODES = ['HBA1C', 'CHOL', 'CREA', 'EGFR', 'NA', 'K', 'UREA', 'HB', 'WBC', 'PLT', 'TSH', 'LOCAL-UNMAPPED'];

/** A deterministic ICD-10 code for n: 26 letters × 100 categories × (none | 0–9). */
function icd10For(n: number): { dotted: string; nhs: string } {
  const letter = String.fromCharCode(65 + (n % 26));
  const category = `${letter}${String(Math.floor(n / 26) % 100).padStart(2, '0')}`;
  const sub = Math.floor(n / 2600) % 11;
  return sub === 10 ? { dotted: category, nhs: `${category}X` } : { dotted: `${category}.${sub}`, nhs: `${category}${sub}` };
}

async function writeUkMap(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  const write = async (line: string) => {
    if (!out.write(`${line}\r\n`)) await once(out, 'drain');
  };
  await write(RF2_COLUMNS['uk-clinical'].join('\t'));
  const generator = Random.derive(SEED, 'uk-map');
  const random = () => generator.next();
  // A third of the codes have one unconditional concept and the rest of their concepts conditional
  // (reverse-unique); the others have many unconditional ones (reverse-ambiguous), as most ICD-10
  // codes do in the real map.
  const settled = new Set<number>();
  for (let i = 0; i < rows; i++) {
    const concept = withCheckDigit(`${10_000_000 + i}00`);
    const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    const r = random();
    const n = Math.floor(random() * 28_600);
    const target = r < 0.02 ? '#NC' : r < 0.03 ? '#NIS' : icd10For(n).nhs;
    const conditional = (n % 3 === 0 && settled.has(n)) || random() < 0.04;
    if (n % 3 === 0) settled.add(n);
    // Conditional rows; 3% rows with an older superseded version before them; 1% retired.
    const rule = conditional ? 'IFA 248152002 | Female (finding) |' : '';
    if (random() < 0.03) await write([id, '20200401', '1', '999000031000000106', '999002271000000101', concept, '1', '1', '', '', 'R69X', '447561005', '1'].join('\t'));
    const active = random() < 0.01 ? '0' : '1';
    await write([id, '20250401', active, '999000031000000106', '999002271000000101', concept, '1', '1', rule, '', target, '447561005', '1'].join('\t'));
  }
  out.end();
  await once(out, 'finish');
}

async function createFacts(db: DuckDb): Promise<void> {
  // ICD-10 in four spellings (dotted, undotted, NHS X-padded, lower case), a tenth local lab codes,
  // a tenth with a SNOMED CT code sent.
  const labs = `[${LAB_CODES.map(quoteLiteral).join(', ')}]`;
  await db.run(`
    CREATE TABLE facts AS
    WITH coded AS (
        SELECT i, hash(i) % 28600 AS n, (i // 10) % 4 AS form FROM range(${FACTS}) t(i)
    ),
    parts AS (
        SELECT i, form,
            chr(65 + (n % 26)::INTEGER) || lpad(((n // 26) % 100)::VARCHAR, 2, '0') AS category,
            ((n // 2600) % 11)::INTEGER AS sub
        FROM coded
    )
    SELECT
        i AS id,
        CASE WHEN i % 10 = 0 THEN '44054006' END AS sent_snomed_code,
        CASE WHEN i % 10 = 0 THEN 'Diabetes mellitus type 2' END AS sent_snomed_display,
        CASE WHEN i % 10 = 1 THEN ${quoteLiteral(LOCAL_LAB)} ELSE ${quoteLiteral(CODE_SYSTEMS.icd10)} END AS map_system,
        CASE
            WHEN i % 10 = 1 THEN ${labs}[(i // 10) % ${LAB_CODES.length} + 1]
            WHEN form = 0 THEN category || CASE WHEN sub = 10 THEN '' ELSE '.' || sub END
            WHEN form = 1 THEN category || CASE WHEN sub = 10 THEN '' ELSE sub::VARCHAR END
            WHEN form = 2 THEN category || CASE WHEN sub = 10 THEN 'X' ELSE sub::VARCHAR END
            ELSE lower(category || CASE WHEN sub = 10 THEN '' ELSE '.' || sub END)
        END AS map_code,
        NULL::VARCHAR AS map_display
    FROM parts`);
}

export async function benchTerminology(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-bench-terminology-'));
  try {
    const mapFile = join(dir, 'der2_iisssciRefset_ExtendedMapUKCLSnapshot_GB1000000_20250401.txt');
    const smallMapFile = join(dir, 'small', 'der2_iisssciRefset_ExtendedMapUKCLSnapshot_GB1000000_20250401.txt');
    await mkdir(join(dir, 'small'));
    await writeUkMap(smallMapFile, SMALL_MAP_ROWS);
    await writeUkMap(mapFile, MAP_ROWS);
    await withDuckDb(join(dir, 'small.duckdb'), { settings: DUCKDB_SETTINGS }, async (db) => {
      const load = await measure(() => registerMap(db, { file: smallMapFile, name: 'uk-icd10', version: 'bench', origin: 'cli', now: new Date() }));
      console.log(
        `map load (small): ${fmt(load.result.rowsRead, 0)} RF2 rows in ${fmt(load.seconds, 2)} s (${fmt(load.result.rowsRead / load.seconds, 0)} rows/s), peak RSS ${fmt(load.peakRssMb, 0)} MB`,
      );
    });
    await withDuckDb(join(dir, 'bench.duckdb'), { settings: DUCKDB_SETTINGS }, async (db) => {
      const now = new Date();
      const load = await measure(() => registerMap(db, { file: mapFile, name: 'uk-icd10', version: 'bench', origin: 'cli', now }));
      const loaded = load.result;
      console.log(
        `map load: ${fmt(loaded.rowsRead, 0)} RF2 rows → ${fmt(loaded.entries, 0)} entries in ${fmt(load.seconds, 2)} s (${fmt(loaded.rowsRead / load.seconds, 0)} rows/s), peak RSS ${fmt(load.peakRssMb, 0)} MB`,
      );
      await registerMap(db, { file: DEMO_MAP_FILE, name: 'carelake-demo', version: 'bench', format: 'csv', origin: 'cli', now });
      const lookupRows = Number(await db.scalar(`SELECT count(*) FROM terminology.code_lookup`));
      console.log(`code_lookup: ${fmt(lookupRows, 0)} (system, code) rows`);

      await createFacts(db);
      const source = ({ positional }: { positional: unknown[] }) => `"${String(positional[0])}"."${String(positional[1])}"`;
      const mappingSql = renderWithProjectMacros("{{ map_to_snomed('facts') }}", 'bench', { source });

      const baseline = await measure(() =>
        db.run(`CREATE OR REPLACE TABLE baseline AS
                SELECT f.*, coalesce(f.sent_snomed_code, l.snomed_code) AS snomed_code
                FROM facts f
                LEFT JOIN (SELECT source_system, source_key, snomed_code FROM terminology.code_lookup WHERE is_preferred) l
                  ON l.source_system = f.map_system AND l.source_key = f.map_code`),
      );
      const carelake = await measure(() => db.run(`CREATE OR REPLACE TABLE mapped AS ${mappingSql}`));

      const coverage = async (table: string) => Number(await db.scalar(`SELECT count(snomed_code) / count(*) FROM ${table}`));
      const rules = await db.all(`SELECT map_rule, count(*)::BIGINT AS n FROM mapped GROUP BY ALL ORDER BY n DESC`);
      const rate = (m: { seconds: number }) => FACTS / m.seconds;
      console.log(`facts: ${fmt(FACTS, 0)} (ICD-10 in 4 spellings, local lab codes, SNOMED CT sent)`);
      console.log(
        `carelake map_to_snomed: ${fmt(carelake.seconds, 2)} s, ${fmt(rate(carelake), 0)} facts/s, peak RSS ${fmt(carelake.peakRssMb, 0)} MB, ${fmt(100 * (await coverage('mapped')), 1)}% with a SNOMED CT concept`,
      );
      console.log(
        `baseline raw-code join:  ${fmt(baseline.seconds, 2)} s, ${fmt(rate(baseline), 0)} facts/s, peak RSS ${fmt(baseline.peakRssMb, 0)} MB, ${fmt(100 * (await coverage('baseline')), 1)}% with a SNOMED CT concept`,
      );
      console.log(`ratio (carelake facts/s ÷ baseline facts/s): ${fmt(rate(carelake) / rate(baseline), 2)}×`);
      console.log(`rules: ${rules.map((r) => `${String(r.map_rule)} ${fmt(Number(r.n), 0)}`).join(', ')}`);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
