// carelake.yml: the one configuration file. Validated with zod so every mistake is reported with the
// key that holds it and what was expected, all problems at once. Relative paths resolve against the
// config file's folder (or the working folder when the embedded defaults are used), so a config
// works wherever the command is started from.

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { Cron } from 'croner';
import { z } from 'zod';
import { freshnessThresholdSchema } from '../transforms/models/freshness.ts';
import { CarelakeError, fileSystemError } from './errors.ts';

const sourceName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'a lower-case name of letters, digits and dashes, starting with a letter');

/** A five- or six-field cron expression, read by croner in `scheduler.timezone`. */
const cronExpression = z.string().min(1).refine(
  (pattern) => {
    try {
      new Cron(pattern, { paused: true });
      return true;
    } catch {
      return false;
    }
  },
  { message: "a cron expression such as '0 2 * * *' (minute hour day-of-month month day-of-week)" },
);

/** Retries of a failed run: exponential backoff with jitter between attempts. */
const backoffSettings = z.strictObject({
  initialSeconds: z.number().positive().max(86_400).default(30),
  maxSeconds: z.number().positive().max(86_400).default(900),
});

/** How stale a source's newest landed data may get (dbt's warn_after / error_after). */
const sourceFreshness = z
  .strictObject({ warn_after: freshnessThresholdSchema.optional(), error_after: freshnessThresholdSchema.optional() })
  .refine((f) => f.warn_after !== undefined || f.error_after !== undefined, { message: 'give warn_after, error_after or both' });

export type BackoffSettings = z.infer<typeof backoffSettings>;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_BACKOFF: BackoffSettings = { initialSeconds: 30, maxSeconds: 900 };

/** What the scheduler needs of every source, whatever its kind. */
const schedule = cronExpression.optional();
const operations = {
  schedule,
  /** Attempts after a failed scheduled run (0 = none); default DEFAULT_RETRIES. */
  retries: z.number().int().min(0).max(10).optional(),
  /** Default DEFAULT_BACKOFF. */
  backoff: backoffSettings.optional(),
  /** Run a tick missed while the scheduler was down once, at start-up (default: scheduler.catchUp). */
  catchUp: z.boolean().optional(),
  freshness: sourceFreshness.optional(),
};

const fhirBulkFilesSource = z.strictObject({
  name: sourceName,
  kind: z.literal('fhir-bulk-files'),
  /** A folder holding manifest.json and the NDJSON files it lists. */
  path: z.string().min(1),
  ...operations,
});

const fhirBulkSource = z.strictObject({
  name: sourceName,
  kind: z.literal('fhir-bulk'),
  /** The FHIR server's base URL (the [base] of [base]/$export). */
  baseUrl: z.url({ protocol: /^https?$/ }),
  level: z.enum(['system', 'patient', 'group']).default('system'),
  groupId: z.string().min(1).nullable().default(null),
  /** `_type`; omitted = every type the server exports. */
  types: z.array(z.string().regex(/^[A-Z][A-Za-z]+$/, 'a FHIR resource type such as Patient')).default([]),
  typeFilter: z.array(z.string().min(1)).default([]),
  /** `auto` = the last successful export's transactionTime; `none` = always a full export; or a FHIR instant. */
  since: z.union([z.literal('auto'), z.literal('none'), z.iso.datetime({ offset: true })]).default('auto'),
  method: z.enum(['GET', 'POST']).default('GET'),
  /** `_elements`: ask for these elements only. Such resources are marked SUBSETTED by the server and
   *  land in `<Type>_subsetted`, so they never shadow full resources. */
  elements: z.array(z.string().regex(/^([A-Z][A-Za-z]+\.)?[a-z][A-Za-z0-9]*$/, 'an element such as birthDate or Patient.birthDate')).default([]),
  /** `_until` (Bulk Data STU3): only resources updated before this instant. */
  until: z.iso.datetime({ offset: true }).nullable().default(null),
  /** `includeAssociatedData`, e.g. [LatestProvenanceResources]. */
  includeAssociatedData: z.array(z.string().min(1)).default([]),
  /** A patient-level export of just these patients (`Patient/<id>` references); needs method POST. */
  patients: z.array(z.string().regex(/^Patient\/[A-Za-z0-9\-.]{1,64}$/, 'a reference such as Patient/123')).default([]),
  /** Ask for a paged manifest (Bulk Data STU3); off by default because older servers refuse the parameter. */
  allowPartialManifests: z.boolean().default(false),
  concurrency: z.number().int().min(1).max(32).default(4),
  auth: z
    .strictObject({
      clientId: z.string().min(1),
      privateKeyFile: z.string().min(1),
      scope: z.string().min(1).default('system/*.rs'),
      kid: z.string().min(1).optional(),
      algorithm: z.enum(['RS384', 'ES384']).optional(),
      tokenEndpoint: z.url().optional(),
      /** Environment variable holding the passphrase of an encrypted PEM key. */
      passphraseEnv: z.string().optional(),
    })
    .optional(),
  ...operations,
});

/** An IANA time zone name that this Node's ICU knows, e.g. Europe/London. */
const timeZone = z.string().refine(
  (zone) => {
    try {
      new Intl.DateTimeFormat('en-GB', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'an IANA time zone such as Europe/London' },
);

/**
 * Files fetched over SFTP instead of read from a local folder (any file source kind). The server's
 * host key is pinned: an unknown or changed key is refused, never trusted on first use.
 */
const sftpSettings = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  username: z.string().min(1),
  /** An OpenSSH private key file readable only by its owner. */
  privateKeyFile: z.string().min(1),
  /** Environment variable holding the key's passphrase, used if set. */
  passphraseEnv: z.string().min(1).default('CARELAKE_SFTP_PASSPHRASE'),
  /** As `ssh-keygen -lf` prints it: SHA256: and 43 base64 characters. */
  hostKeySha256: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'SHA256: followed by 43 base64 characters, as ssh-keygen -l prints a host key fingerprint'),
  remoteDir: z.string().min(1),
  /** File names to fetch, a glob (e.g. GO_*_GO?_*.DAT). */
  pattern: z.string().min(1),
  /** A file is taken once its size and time are unchanged across listings this far apart. */
  stableSeconds: z.number().int().min(0).max(3600).default(30),
  /** When set (e.g. ".done"), a file is taken only once `<name><doneMarker>` exists, instead of waiting stableSeconds. */
  doneMarker: z.string().regex(/^\.[A-Za-z0-9._-]+$/, 'a suffix such as .done').optional(),
  /** What to do with a remote file once it has landed (or was found already landed). */
  afterDownload: z
    .union([z.literal('leave'), z.literal('delete'), z.string().regex(/^move:.+$/, "leave, delete, or move:<remote dir>")])
    .default('leave'),
  /** Downloads at once, each on its own connection. */
  concurrency: z.number().int().min(1).max(8).default(2),
  /** Attempts after a connection error, with exponential backoff. */
  retries: z.number().int().min(0).max(20).default(5),
  /** Connect and idle timeout. */
  timeoutSeconds: z.number().int().min(1).max(600).default(30),
});

export type SftpSettings = z.infer<typeof sftpSettings>;

const hl7v2Source = z.strictObject({
  name: sourceName,
  kind: z.literal('hl7v2'),
  /** A file glob, e.g. ./inbox/hl7/**\/*.{hl7,txt,dat}; or `sftp` instead. */
  path: z.string().min(1).optional(),
  sftp: sftpSettings.optional(),
  /** `auto` reads each message's MSH-18; `latin1` or `utf8` overrides it for feeds that mislabel. */
  encoding: z.enum(['auto', 'latin1', 'utf8']).default('auto'),
  /** The zone of timestamps sent without an offset (most UK feeds send local time). */
  timezone: timeZone.default('Europe/London'),
  ...operations,
});

const esrSource = z.strictObject({
  name: sourceName,
  kind: z.literal('esr'),
  /** A local folder holding GO files; or `sftp` instead. */
  path: z.string().min(1).optional(),
  sftp: sftpSettings.optional(),
  pattern: z.string().default('GO_*_GO?_*.DAT'),
  layout: z.string().default('esr-go-v1'),
  ...operations,
});

/** A file source reads from exactly one place. */
function onePlace(source: { path?: string | undefined; sftp?: SftpSettings | undefined }): boolean {
  return (source.path === undefined) !== (source.sftp === undefined);
}

export const sourceConfig = z.discriminatedUnion('kind', [
  fhirBulkSource.refine((s) => s.patients.length === 0 || (s.method === 'POST' && s.level !== 'system'), {
    message: "'patients' needs method POST and level patient or group",
    path: ['patients'],
  }).refine((s) => s.level !== 'group' || s.groupId !== null, { message: 'level group needs a groupId', path: ['groupId'] }),
  fhirBulkFilesSource,
  hl7v2Source.refine(onePlace, { message: "give exactly one of 'path' (local files) or 'sftp' (a remote folder)", path: ['path'] }),
  esrSource.refine(onePlace, { message: "give exactly one of 'path' (a local folder) or 'sftp' (a remote folder)", path: ['path'] }),
]);

/** The scheduler's name for the warehouse build, recorded as the `source` of its runs: no source may take it. */
export const BUILD_JOB = 'build';

/** What a code map may be called: it is stored with every fact it maps (map_name). */
export const MAP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const configSchema = z.strictObject({
  lake: z.string().default('./lake'),
  /** Names the pseudonymisation domain: tokens from two projects cannot be linked. */
  project: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes').default('carelake'),
  sources: z.array(sourceConfig).default([]),
  models: z
    .strictObject({
      /** The dbt project folder; default: the project bundled with carelake. */
      projectDir: z.string().optional(),
      /** The profiles.yml output to use, when the project has one. */
      target: z.string().default('dev'),
      /** Default: the profile's schema, else main. */
      schema: z.string().optional(),
      /** Models run at once; default: the profile's threads, else 1. */
      threads: z.number().int().min(1).max(32).optional(),
      /** Variables for the models (dbt's `vars`); `--vars` on the command line overrides them. */
      vars: z.record(z.string(), z.unknown()).default({}),
    })
    .default({ target: 'dev', vars: {} }),
  /** Code maps to SNOMED CT, registered in the warehouse (terminology.maps) before every build. */
  terminology: z
    .strictObject({
      maps: z
        .array(
          z.strictObject({
            /** How facts name the map (map_name); letters, digits, '.', '_', '-'. */
            name: z.string().regex(MAP_NAME, "letters, digits, '.', '_' or '-'"),
            /** The release it comes from (e.g. 40.2.0, 20251001); a new release needs a new version. */
            version: z.string().min(1),
            /** The map file: an RF2 extended map snapshot, a FHIR ConceptMap (.json) or a local CSV map. */
            path: z.string(),
            /** Default: told from the file. */
            format: z.enum(['rf2', 'conceptmap', 'csv']).optional(),
          }),
        )
        .default([]),
      /** Register carelake's small hand-made demonstration map (seeds/terminology); demo data only. */
      demoMap: z.boolean().default(false),
    })
    .default({ maps: [], demoMap: false }),
  governance: z
    .strictObject({
      keyFile: z.string().optional(),
      keyEnv: z.string().default('CARELAKE_PSEUDONYM_KEY'),
      suppression: z.enum(['hes', 'opensafely', 'ons']).default('hes'),
    })
    .default({ keyEnv: 'CARELAKE_PSEUDONYM_KEY', suppression: 'hes' }),
  serve: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      auth: z
        .strictObject({
          /** API keys, stored hashed (`carelake keys create`); an admin file outside the lake. */
          apiKeysFile: z.string().optional(),
          /** Bearer JWTs from an identity provider, verified with jose against its JWKS. */
          jwt: z
            .strictObject({
              issuer: z.string().min(1),
              audience: z.string().min(1),
              /** Exactly one of jwksUri (fetched and cached) or jwksFile (a local JWKS JSON). */
              jwksUri: z.url().optional(),
              jwksFile: z.string().optional(),
              /** The claim naming the carelake role (analyst | commissioner | engineer). */
              roleClaim: z.string().default('carelake_role'),
              algorithms: z.array(z.string()).default(['RS256', 'ES256', 'PS256', 'EdDSA']),
            })
            .refine((jwt) => (jwt.jwksUri === undefined) !== (jwt.jwksFile === undefined), { message: 'give exactly one of jwksUri or jwksFile' })
            .optional(),
        })
        .default({}),
      limits: z
        .strictObject({
          /** Rows an analyst query may return; more are cut off and the response says so. */
          maxRows: z.number().int().positive().default(100_000),
          /** A query still running after this is interrupted. */
          timeoutMs: z.number().int().positive().default(30_000),
          /** Requests per principal per window. */
          rateLimit: z.number().int().positive().default(120),
          rateWindowMs: z.number().int().positive().default(60_000),
        })
        .default({ maxRows: 100_000, timeoutMs: 30_000, rateLimit: 120, rateWindowMs: 60_000 }),
      /** Browser sign-in sessions (server-side, in memory): ended after this long unused, and this long after sign-in at most. */
      session: z
        .strictObject({
          idleMinutes: z.number().int().min(1).max(24 * 60).default(30),
          absoluteHours: z.number().int().min(1).max(7 * 24).default(8),
        })
        .default({ idleMinutes: 30, absoluteHours: 8 }),
    })
    .default({
      host: '127.0.0.1',
      port: 8080,
      auth: {},
      limits: { maxRows: 100_000, timeoutMs: 30_000, rateLimit: 120, rateWindowMs: 60_000 },
      session: { idleMinutes: 30, absoluteHours: 8 },
    }),
  /** Commissioner reports as Markdown files (README, "Writing a report"); default: the bundled reports/. */
  reports: z
    .strictObject({
      dir: z.string().optional(),
      /** Chromium (or Chrome) for `/reports/<path>.pdf`; default: /usr/bin/chromium where it is installed. */
      chromium: z.string().optional(),
    })
    .default({}),
  /** `carelake schedule`: the long-lived process that runs sources and builds on their schedules. */
  scheduler: z
    .strictObject({
      /** Cron expressions are read in this zone, so 01:30 means 01:30 on the wall clock, GMT or BST. */
      timezone: timeZone.default('Europe/London'),
      /** Runs (loads and builds) at once, across all sources. */
      concurrency: z.number().int().min(1).max(16).default(2),
      /** Run a tick missed while the scheduler was down once, at start-up; per source `catchUp` overrides. */
      catchUp: z.boolean().default(false),
      /** On SIGTERM/SIGINT, in-flight runs get this long to finish before they stop and are marked interrupted. */
      shutdownGraceSeconds: z.number().int().min(0).max(3600).default(120),
      /** When source freshness is checked, besides after every run. */
      freshnessSchedule: cronExpression.default('*/15 * * * *'),
      /** How often run requests (from the runs page) are picked up. */
      requestPollSeconds: z.number().min(0.1).max(60).default(2),
      /** The warehouse build: on its own cron, after its upstream sources land new data, or both. */
      build: z
        .strictObject({
          schedule,
          /** Build once these sources have landed new data (and none of them is still running or queued). */
          after: z.array(sourceName).default([]),
          retries: z.number().int().min(0).max(10).default(1),
          backoff: backoffSettings.default({ initialSeconds: 30, maxSeconds: 900 }),
        })
        .default({ after: [], retries: 1, backoff: { initialSeconds: 30, maxSeconds: 900 } }),
    })
    .default({
      timezone: 'Europe/London',
      concurrency: 2,
      catchUp: false,
      shutdownGraceSeconds: 120,
      freshnessSchedule: '*/15 * * * *',
      requestPollSeconds: 2,
      build: { after: [], retries: 1, backoff: { initialSeconds: 30, maxSeconds: 900 } },
    }),
  /** Alerts from the scheduler: to the log always, and to a webhook (JSON POST, retried) when set. */
  alerts: z
    .strictObject({
      webhook: z
        .strictObject({
          url: z.url({ protocol: /^https?$/ }),
          /** Environment variable holding a shared secret; when set, each POST is signed (X-Carelake-Signature: sha256=<HMAC>). */
          secretEnv: z.string().min(1).optional(),
          retries: z.number().int().min(0).max(20).default(5),
          timeoutSeconds: z.number().positive().max(120).default(10),
        })
        .optional(),
      /** Alert when a run quarantines more than this fraction of the records it read. */
      quarantineRate: z.number().min(0).max(1).default(0.01),
    })
    .default({ quarantineRate: 0.01 }),
  demo: z
    .strictObject({
      dir: z.string().default('./demo'),
      patients: z.number().int().positive().default(3000),
      seed: z.number().int().default(20261121),
    })
    .default({ dir: './demo', patients: 3000, seed: 20261121 }),
});

export type SourceConfig = z.infer<typeof sourceConfig>;
export type SourceKind = SourceConfig['kind'];
export type RawConfig = z.infer<typeof configSchema>;

/** The validated config with every path made absolute. */
export interface CarelakeConfig extends RawConfig {
  /** The file it came from, or null for the embedded defaults. */
  file: string | null;
  baseDir: string;
  models: RawConfig['models'] & { projectDir: string };
  reports: { dir: string; chromium?: string };
  governance: RawConfig['governance'] & { keyFile: string };
  serve: RawConfig['serve'] & { auth: RawConfig['serve']['auth'] & { apiKeysFile: string } };
}

/** carelake's own folder, which holds the bundled dbt project (dbt_project.yml, models/, macros/). */
export const BUNDLED_PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** carelake's own commissioner reports (Markdown), used unless `reports.dir` names a folder of yours. */
export const BUNDLED_REPORTS_DIR = join(BUNDLED_PROJECT_DIR, 'reports');

/** The name the bundled demonstration map is registered under (`terminology.demoMap`). */
export const DEMO_MAP_NAME = 'carelake-demo';
/** carelake's hand-made demonstration map (README, "Terminology"): demo data only, never for care. */
export const DEMO_MAP_FILE = join(BUNDLED_PROJECT_DIR, 'seeds', 'terminology', 'carelake_demo_code_map.csv');

/** The embedded default: the bundled demo sources, generated by `npm start` when absent. */
export const DEFAULT_CONFIG_YAML = `# carelake.yml — see README.md, "Configuration"
lake: ./lake
project: carelake
sources:
  - name: demo-fhir
    kind: fhir-bulk-files
    path: ./demo/fhir
    schedule: "0 2 * * *"
    freshness: { warn_after: { count: 36, period: hour }, error_after: { count: 3, period: day } }
  - name: demo-hl7
    kind: hl7v2
    path: "./demo/hl7/*.hl7"
    schedule: "*/15 * * * *"
    freshness: { warn_after: { count: 6, period: hour }, error_after: { count: 1, period: day } }
  - name: demo-esr
    kind: esr
    path: ./demo/esr
    schedule: "30 6 * * *"
    freshness: { error_after: { count: 37, period: day } }
# \`carelake schedule\`: cron times in UK local time; the build follows its sources (README, "Operating carelake").
scheduler: { timezone: Europe/London, build: { after: [demo-fhir, demo-hl7, demo-esr] } }
# The demo's NHS numbers are all in the 999 test range, which linkage ignores unless told otherwise.
models: { vars: { linkage_accept_test_nhs_numbers: true } }
# ICD-10 and local codes map to SNOMED CT through the bundled demonstration map; list real maps (NHS
# TRUD releases, local CSVs) under terminology.maps — README.md, "Terminology".
terminology: { demoMap: true }
# Secrets live beside this file, outside the lake and the repository (secrets/ is git-ignored).
governance: { keyFile: ./secrets/pseudonym.key, suppression: hes }
serve: { host: 127.0.0.1, port: 8080 }
`;

/**
 * Loads `file` if given, else `carelake.yml` in `cwd` if present, else the embedded defaults.
 * An explicitly named file that does not exist is an error.
 */
export async function loadConfig(options: { file?: string; cwd: string }): Promise<CarelakeConfig> {
  const explicit = options.file !== undefined;
  const file = resolve(options.cwd, options.file ?? 'carelake.yml');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      return parseConfig(DEFAULT_CONFIG_YAML, { file: null, baseDir: options.cwd });
    }
    throw fileSystemError('read the config file', file, err);
  }
  return parseConfig(text, { file, baseDir: dirname(file) });
}

export function parseConfig(text: string, origin: { file: string | null; baseDir: string }): CarelakeConfig {
  const where = origin.file ?? 'the embedded default config';
  let data: unknown;
  try {
    data = parseYaml(text) ?? {};
  } catch (err) {
    const line = err instanceof YAMLParseError ? err.linePos?.[0]?.line : undefined;
    throw new CarelakeError({
      code: 'config.yaml',
      kind: 'config',
      message: `${where} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      location: { file: where, line },
      cause: err,
    });
  }
  const result = configSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${describeIssue(issue, data)}`);
    throw new CarelakeError({
      code: 'config.invalid',
      kind: 'config',
      message: `${where} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.join('\n')}`,
      location: { file: where },
      hint: 'fix the keys named above (README.md, "Configuration", lists every key)',
    });
  }
  const names = new Set<string>();
  for (const [i, s] of result.data.sources.entries()) {
    if (s.name === BUILD_JOB) {
      throw new CarelakeError({
        code: 'config.reserved-source-name',
        kind: 'config',
        message: `${where}: sources[${i}].name '${s.name}' is reserved for the warehouse build's runs`,
        location: { file: where, field: `sources[${i}].name` },
      });
    }
    if (names.has(s.name)) {
      throw new CarelakeError({
        code: 'config.duplicate-source',
        kind: 'config',
        message: `${where}: sources[${i}].name '${s.name}' is used by two sources; names must be unique`,
        location: { file: where, field: `sources[${i}].name` },
      });
    }
    names.add(s.name);
  }
  for (const [i, name] of result.data.scheduler.build.after.entries()) {
    if (!names.has(name)) {
      throw new CarelakeError({
        code: 'config.unknown-source',
        kind: 'config',
        message: `${where}: scheduler.build.after[${i}] names '${name}', which is not a source here`,
        location: { file: where, field: `scheduler.build.after[${i}]` },
        hint: `sources: ${[...names].join(', ') || '(none)'}`,
      });
    }
  }
  const mapNames = new Set<string>();
  for (const [i, m] of result.data.terminology.maps.entries()) {
    if (mapNames.has(m.name) || (m.name === DEMO_MAP_NAME && result.data.terminology.demoMap)) {
      throw new CarelakeError({
        code: 'config.duplicate-map',
        kind: 'config',
        message: `${where}: terminology.maps[${i}].name '${m.name}' is used twice; map names must be unique`,
        location: { file: where, field: `terminology.maps[${i}].name` },
      });
    }
    mapNames.add(m.name);
  }
  return absolutise(result.data, origin);
}

function absolutise(raw: RawConfig, origin: { file: string | null; baseDir: string }): CarelakeConfig {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(origin.baseDir, p));
  const lake = at(raw.lake);
  return {
    ...raw,
    file: origin.file,
    baseDir: origin.baseDir,
    lake,
    sources: raw.sources.map(absoluteSource(at)),
    models: { ...raw.models, projectDir: raw.models.projectDir ? at(raw.models.projectDir) : BUNDLED_PROJECT_DIR },
    reports: { dir: raw.reports.dir ? at(raw.reports.dir) : BUNDLED_REPORTS_DIR, ...(raw.reports.chromium ? { chromium: at(raw.reports.chromium) } : {}) },
    terminology: { ...raw.terminology, maps: raw.terminology.maps.map((m) => ({ ...m, path: at(m.path) })) },
    // Secrets default to `secrets/` beside the config, never inside the lake: a lake folder is copied,
    // shared and backed up as data, and a key kept with the tokens it protects would defeat them.
    governance: { ...raw.governance, keyFile: at(raw.governance.keyFile ?? join('secrets', 'pseudonym.key')) },
    serve: {
      ...raw.serve,
      auth: {
        ...raw.serve.auth,
        apiKeysFile: at(raw.serve.auth.apiKeysFile ?? join('secrets', 'api-keys.json')),
        ...(raw.serve.auth.jwt ? { jwt: { ...raw.serve.auth.jwt, ...(raw.serve.auth.jwt.jwksFile ? { jwksFile: at(raw.serve.auth.jwt.jwksFile) } : {}) } } : {}),
      },
    },
    demo: { ...raw.demo, dir: at(raw.demo.dir) },
  };
}

function absoluteSource(at: (path: string) => string): (source: SourceConfig) => SourceConfig {
  return (s) => {
    if (s.kind === 'fhir-bulk') return s.auth ? { ...s, auth: { ...s.auth, privateKeyFile: at(s.auth.privateKeyFile) } } : s;
    if (s.kind === 'fhir-bulk-files') return { ...s, path: at(s.path) };
    return {
      ...s,
      ...(s.path !== undefined ? { path: at(s.path) } : {}),
      ...(s.sftp !== undefined ? { sftp: { ...s.sftp, privateKeyFile: at(s.sftp.privateKeyFile) } } : {}),
    };
  };
}

/** `sources[1].kind: expected one of fhir-bulk-files | hl7v2 | esr, got "ftp"` */
function describeIssue(issue: z.core.$ZodIssue, data: unknown): string {
  const key = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
  const actual = valueAt(data, issue.path);
  const got = actual === undefined ? 'nothing' : JSON.stringify(actual)?.slice(0, 60);
  switch (issue.code) {
    case 'invalid_type':
      return `${key}: expected ${issue.expected}, got ${got}`;
    case 'unrecognized_keys':
      return `${key}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_union': {
      // The source union is discriminated by `kind`; zod reports it at the source or at its kind.
      const atKind = issue.path[issue.path.length - 1] === 'kind' ? issue.path : [...issue.path, 'kind'];
      return `${formatPath(atKind)}: expected one of ${sourceConfig.options.map((o) => o.shape.kind.value).join(' | ')}, got ${JSON.stringify(valueAt(data, atKind) ?? null)}`;
    }
    case 'invalid_value':
      return `${key}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}, got ${got}`;
    default:
      return `${key}: ${issue.message}, got ${got}`;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}
