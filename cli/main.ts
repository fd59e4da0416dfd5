// The `carelake` command line. Each command lives in cli/commands/<name>.ts; this file only declares
// them, and turns any failure into one clear line and a non-zero exit.

import { Command, InvalidArgumentError, Option } from 'commander';
import { ROLES } from '../warehouse/auth/principal.ts';
import { auditShowCommand, auditVerifyCommand } from './commands/audit.ts';
import { backfillCommand, rerunCommand } from './commands/backfill.ts';
import { buildCommand } from './commands/build.ts';
import { bulkCancelCommand, bulkStatusCommand } from './commands/bulk.ts';
import { generateCommand } from './commands/generate.ts';
import { hl7InspectCommand } from './commands/hl7Inspect.ts';
import { initCommand } from './commands/init.ts';
import { keysCreateCommand, keysListCommand, keysRevokeCommand } from './commands/keys.ts';
import { queryCommand } from './commands/query.ts';
import { reportsCheckCommand } from './commands/reports.ts';
import { loadCommand } from './commands/load.ts';
import { linkCommand, type LinkOptions } from './commands/link.ts';
import { linkEvalCommand, type LinkEvalOptions } from './commands/linkEval.ts';
import { compileCommand, docsCommand, modelCommand, parseVars, sourceFreshnessCommand, type SelectionOptions } from './commands/models.ts';
import { viewRunCommand, viewSqlCommand } from './commands/view.ts';
import { serveCommand } from './commands/serve.ts';
import { sftpHostKeyCommand } from './commands/sftpHostKey.ts';
import { startCommand } from './commands/start.ts';
import { terminologyListCommand, terminologyLoadCommand, terminologyRemoveCommand, terminologyTranslateCommand } from './commands/terminology.ts';
import { statusCommand } from './commands/status.ts';
import { logsCommand, runsCommand } from './commands/runs.ts';
import { scheduleCommand } from './commands/schedule.ts';
import { reportFailure, terminal } from './console.ts';
import { commandContext, type GlobalOptions } from './context.ts';

const out = terminal();
const program = new Command();

program
  .name('carelake')
  .description('A lakehouse for NHS health and care data: land FHIR Bulk Data, HL7 v2 and ESR files, build curated models, serve pseudonymised data.')
  .option('-c, --config <file>', 'the config file (default: ./carelake.yml, else the embedded defaults)')
  .option('--verbose', 'print stack traces on failure')
  .showHelpAfterError();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

program
  .command('init')
  .description('write a starter carelake.yml in the current folder')
  .action(async () => {
    await initCommand(process.cwd(), out);
  });

program
  .command('generate')
  .description('write a deterministic synthetic population as FHIR Bulk, HL7 v2 and ESR source files, with truth/')
  .option('--patients <n>', 'number of patients', integer, 1000)
  .option('--seed <n>', 'random seed', integer, 1)
  .requiredOption('--out <dir>', 'output folder')
  .action(async (opts: { patients: number; seed: number; out: string }) => {
    await generateCommand(opts, out);
  });

program
  .command('load')
  .argument('[sources...]', 'source names from the config (default: all)')
  .description('land sources into raw Parquet; files already landed are skipped')
  .action(async (sources: string[]) => {
    const ctx = await commandContext(globals());
    const summaries = await loadCommand(ctx, sources, out);
    if (summaries.some((s) => s.run.status === 'failed')) process.exitCode = 1;
  });

interface ModelFlags {
  select?: string[];
  exclude?: string[];
  fullRefresh?: boolean;
  threads?: number;
  vars?: string;
}

/** The dbt flags every model command takes. */
function modelFlags(command: Command, { fullRefresh = false } = {}): Command {
  command
    .option('-s, --select <selector...>', 'nodes to act on, in dbt syntax: name, +name, name+, tag:x, path:models/marts, source:fhir')
    .option('--exclude <selector...>', 'nodes to leave out, same syntax')
    .option('--threads <n>', 'nodes to run at once (default: carelake.yml models.threads, else profiles.yml, else 1)', integer)
    .option('--vars <yaml>', "variables for the models, e.g. '{esr_snapshot_months: 12}'");
  if (fullRefresh) command.option('--full-refresh', 'rebuild incremental models from scratch');
  return command;
}

async function selection(flags: ModelFlags): Promise<SelectionOptions> {
  return { select: flags.select, exclude: flags.exclude, fullRefresh: flags.fullRefresh, threads: flags.threads, vars: await parseVars(flags.vars) };
}

modelFlags(
  program.command('build').description('seeds, models and tests into warehouse.duckdb in DAG order; copy the ledger; publish serving files').option('--no-publish', 'leave the serving files as they are'),
  { fullRefresh: true },
).action(async (flags: ModelFlags & { publish: boolean }) => {
  await buildCommand(await commandContext(globals()), out, { ...(await selection(flags)), publish: flags.publish });
});

for (const [name, description] of [
  ['run', 'build the selected models into warehouse.duckdb (no tests, no seeds, no publishing)'],
  ['test', 'run the data tests of the selected nodes'],
  ['seed', 'load the CSV seeds'],
] as const) {
  modelFlags(program.command(name).description(description), { fullRefresh: name !== 'test' }).action(async (flags: ModelFlags) => {
    await modelCommand(await commandContext(globals()), name, await selection(flags), out);
  });
}

modelFlags(program.command('compile').description('render every model, view and test to SQL under target/compiled, and write target/manifest.json')).action(async (flags: ModelFlags) => {
  await compileCommand(await commandContext(globals()), await selection(flags), out);
});

program
  .command('docs')
  .description('write target/catalog.json (relations and columns, dbt shape) and target/lineage.json')
  .option('--vars <yaml>', "variables for the models, e.g. '{esr_snapshot_months: 12}'")
  .action(async (flags: ModelFlags) => {
    await docsCommand(await commandContext(globals()), await selection(flags), out);
  });

const source = program.command('source').description('dbt sources');
source
  .command('freshness')
  .description('check loaded_at_field against each source freshness rule; write target/sources.json')
  .option('-s, --select <selector...>', 'sources to check, e.g. source:fhir')
  .option('--exclude <selector...>', 'sources to leave out')
  .option('--vars <yaml>', "variables for the sources, e.g. '{raw_root: /data/lake/raw}'")
  .action(async (flags: ModelFlags) => {
    await sourceFreshnessCommand(await commandContext(globals()), await selection(flags), out);
  });

const view = program.command('view').description('SQL-on-FHIR v2 ViewDefinitions');
view
  .command('run')
  .requiredOption('--view <file>', 'a ViewDefinition (JSON)')
  .requiredOption('--resources <file>', 'FHIR resources: .json (a resource, an array or a Bundle) or .ndjson')
  .description('compile the view to SQL, run it over the resources in DuckDB, print {"columns": [...], "rows": [...]}')
  .action(async (opts: { view: string; resources: string }) => {
    await viewRunCommand(opts, out);
  });
view
  .command('sql')
  .requiredOption('--view <file>', 'a ViewDefinition (JSON)')
  .description('print the DuckDB SQL the view compiles to')
  .action(async (opts: { view: string }) => {
    await viewSqlCommand(opts, out);
  });

function probability(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('expected a probability between 0 and 1, e.g. 0.95');
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const link = program
  .command('link')
  .description('deduplicate patient records in a CSV or Parquet file: writes record_id,person_id,match_probability for every record')
  .option('--input <file>', 'a .csv (with a header) or .parquet file')
  .option('--id <column>', 'the column naming each record')
  .option(
    '--columns <roles>',
    'role=column pairs: given_name, family_name, birth_date, sex, postcode, nhs_number, address, email, phone, nhs_number_verification_status, linked_record_id; join columns with + (address=street+town)',
  )
  .option('--out <file>', 'the clusters CSV to write')
  .option('--model <file>', 'score with a saved model instead of training one')
  .option('--save-model <file>', 'write the trained model (JSON) here')
  .option('--previous <file>', 'an earlier clusters CSV whose person ids are kept')
  .option('--threshold <p>', 'link pairs at or above this match probability (default 0.95)', probability)
  .option('--review <file>', 'write the pairs in the clerical-review band to this CSV')
  .option('--blocking <rules>', "blocking rules, ';' between rules and '+' between keys, e.g. 'birth_date;postcode+given_initial'")
  .option('--accept-test-nhs-numbers', 'count 999… test-range NHS numbers as real (synthetic and test data)')
  .option('--explain <a,b>', 'explain the score of two records, per field (repeatable)', collect)
  .action(async (opts: Partial<LinkOptions>) => {
    // Plain options, not required ones: commander would demand them of `link eval` too.
    const missing = (['input', 'id', 'columns', 'out'] as const).filter((name) => opts[name] === undefined);
    if (missing.length > 0) link.error(`error: required option${missing.length > 1 ? 's' : ''} ${missing.map((m) => `--${m}`).join(', ')} not specified`);
    await linkCommand(opts as LinkOptions, out);
  });
link
  .command('eval')
  .description('score a clusters file against known truth: pairwise and B-cubed precision, recall and F1')
  .requiredOption('--clusters <file>', 'the clusters CSV written by carelake link')
  .requiredOption('--truth <file>', 'a CSV holding the true clusters')
  .requiredOption('--truth-id <column>', 'the truth column with the record ids')
  .requiredOption('--truth-cluster <column|pattern>', "the truth column with the true cluster, or a regular expression over the id, e.g. 'rec-(\\d+)'")
  .option('--clusters-id <column>', 'record id column of the clusters file', 'record_id')
  .option('--clusters-cluster <column>', 'cluster column of the clusters file', 'person_id')
  .action(async (opts: LinkEvalOptions) => {
    await linkEvalCommand(opts, out);
  });

program
  .command('serve')
  .description('serve the reports and the JSON API over HTTP')
  .option('--host <host>', 'address to listen on (default from config)')
  .option('--port <port>', 'port to listen on (default from config)', integer)
  .action(async (opts: { host?: string; port?: number }) => {
    await serveCommand(await commandContext(globals()), opts, out);
  });

program
  .command('schedule')
  .description('run the scheduler: every source and the build on their cron (scheduler.timezone), retries, alerts, run requests; one per lake; SIGTERM stops it gracefully')
  .action(async () => {
    await scheduleCommand(await commandContext(globals()), out);
  });

program
  .command('runs')
  .description('the run history from the ledger, newest first')
  .option('--source <name>', 'one source (or build)')
  .option('--status <status>', 'running | succeeded | partial | failed | interrupted | retried')
  .option('--limit <n>', 'how many runs', integer, 50)
  .option('--json', 'print JSON instead of a table')
  .action(async (opts: { source?: string; status?: string; limit: number; json?: boolean }) => {
    runsCommand(await commandContext(globals()), { ...opts, json: opts.json ?? false }, out);
  });

program
  .command('logs')
  .argument('<run_id>', 'a run id from `carelake runs`')
  .option('--json', 'print the JSON log lines as written')
  .description("one run's log lines")
  .action(async (runId: string, opts: { json?: boolean }) => {
    await logsCommand(await commandContext(globals()), runId, { json: opts.json ?? false }, out);
  });

program
  .command('backfill')
  .argument('<source>', 'a source from the config')
  .requiredOption('--from <date>', 'start of the window, inclusive: YYYY-MM-DD (UTC midnight) or an ISO instant')
  .requiredOption('--to <date>', 'end of the window, exclusive')
  .option('--dry-run', 'show what would be fetched; fetch and write nothing')
  .description('land a past window: a Bulk Data export with _since/_until (the incremental watermark stays), or the files modified in it')
  .action(async (name: string, opts: { from: string; to: string; dryRun?: boolean }) => {
    await backfillCommand(await commandContext(globals()), name, { from: opts.from, to: opts.to, dryRun: opts.dryRun ?? false }, out);
  });

program
  .command('rerun')
  .argument('<run_id>', 'a run id from `carelake runs`')
  .description('run a source (or the build) again as that run did, with its window; files already landed are skipped')
  .action(async (runId: string) => {
    await rerunCommand(await commandContext(globals()), runId, out);
  });

program
  .command('status')
  .description('the last run of each source, with its counts')
  .action(async () => {
    statusCommand(await commandContext(globals()), out);
  });

program
  .command('query')
  .argument('<sql>', 'a SQL query: over the warehouse (raw views, curated tables, ops.*), or with --role analyst over the analyst serving release')
  .option('--json', 'print JSON instead of a table')
  .option('--csv', 'print CSV instead of a table')
  .addOption(new Option('--role <role>', 'run as this role, through the same checks, limits, disclosure control and audit as the API').choices(ROLES))
  .description('query the warehouse catalog (engineers), or the governed analyst release (--role analyst)')
  .action(async (sql: string, opts: { json?: boolean; csv?: boolean; role?: (typeof ROLES)[number] }) => {
    await queryCommand(await commandContext(globals()), sql, opts.json ? 'json' : opts.csv ? 'csv' : 'table', out, opts.role);
  });

const keys = program.command('keys').description('API keys for the serving API: shown once, stored only as a hash');
keys
  .command('create')
  .requiredOption('--name <name>', 'who or what the key is for; unique among active keys (letters, digits, . _ @ -)')
  .addOption(new Option('--role <role>', 'what the key may do').choices(ROLES).makeOptionMandatory())
  .description('make a key and print it once; only its hash is kept, in serve.auth.apiKeysFile')
  .action(async (opts: { name: string; role: string }) => {
    await keysCreateCommand(await commandContext(globals()), opts, out);
  });
keys
  .command('list')
  .description('every key: id, name, role, created, revoked (never a secret or hash)')
  .action(async () => {
    await keysListCommand(await commandContext(globals()), out);
  });
keys
  .command('revoke')
  .argument('<name-or-key-id>', "an active key's name, or a key id from `carelake keys list`")
  .description('refuse a key from now on; a running server notices within a second')
  .action(async (nameOrKeyId: string) => {
    await keysRevokeCommand(await commandContext(globals()), nameOrKeyId, out);
  });

const audit = program.command('audit').description('the audit log of governed queries: check it, read it');
audit
  .command('verify')
  .description('check the audit log is whole (every line present, in order, unaltered); exit 1 naming the first bad line')
  .action(async () => {
    await auditVerifyCommand(await commandContext(globals()), out);
  });
audit
  .command('show')
  .description('audit entries since a time (verified as they are read), as a table or JSON')
  .option('--since <when>', 'a span back from now (30m, 24h, 7d, 2w) or an ISO date or date-time', '24h')
  .option('--principal <id>', 'one caller (key:…, jwt:…, cli:…), or a prefix ending in * (e.g. jwt:*)')
  .option('--outcome <outcome>', 'ok | refused | denied | unauthenticated | rate-limited | error | timeout')
  .option('--json', 'print a JSON array instead of a table')
  .action(async (opts: { since: string; principal?: string; outcome?: string; json?: boolean }) => {
    await auditShowCommand(
      await commandContext(globals()),
      { since: opts.since, principal: opts.principal, outcome: opts.outcome, format: opts.json ? 'json' : 'table' },
      out,
    );
  });

const reports = program.command('reports').description('commissioner reports (Markdown + SQL in reports/)');
reports
  .command('check')
  .description('compile every report and run it on the current commissioner release; exit 1 naming each that fails')
  .action(async () => {
    await reportsCheckCommand(await commandContext(globals()), out);
  });

const terminology = program.command('terminology').description('code maps to SNOMED CT: load them, see what a code translates to');
terminology
  .command('load')
  .argument('<file>', 'an RF2 extended map (der2_…ExtendedMap…Snapshot…txt, International or UK Clinical Edition), a FHIR ConceptMap (.json) or a CSV map')
  .requiredOption('--name <name>', 'the name facts will carry as map_name')
  .requiredOption('--version <version>', 'the release, e.g. 40.2.0; a new release needs a new version')
  .option('--format <format>', 'rf2 | conceptmap | csv (default: told from the file)')
  .description('register a map in the warehouse (terminology.maps, terminology.map_entries)')
  .action(async (file: string, opts: { name: string; version: string; format?: string }) => {
    if (opts.format !== undefined && !['rf2', 'conceptmap', 'csv'].includes(opts.format)) terminology.error(`error: --format must be rf2, conceptmap or csv, not '${opts.format}'`);
    await terminologyLoadCommand(await commandContext(globals()), file, { name: opts.name, version: opts.version, format: opts.format as 'rf2' | 'conceptmap' | 'csv' | undefined }, out);
  });
terminology
  .command('translate')
  .requiredOption('--system <system>', 'icd10, opcs4, snomed, or a local code system URI')
  .requiredOption('--code <code>', 'the code, in any of its forms (J45.9, J459, I10X, A170-D)')
  .option('--map <name>', 'only this map')
  .description('print, as JSON, the SNOMED CT concepts a code maps to, with equivalence, rule and map')
  .action(async (opts: { system: string; code: string; map?: string }) => {
    await terminologyTranslateCommand(await commandContext(globals()), opts, out);
  });
terminology
  .command('list')
  .description('the registered maps and their versions')
  .action(async () => {
    await terminologyListCommand(await commandContext(globals()), out);
  });
terminology
  .command('remove')
  .argument('<name>', 'a registered map')
  .description('remove a map and its entries (a map carelake.yml lists comes back at the next build)')
  .action(async (name: string) => {
    await terminologyRemoveCommand(await commandContext(globals()), name, out);
  });

const bulk = program.command('bulk').description('FHIR Bulk Data sources: the export job in flight');
bulk
  .command('status')
  .argument('<source>', 'a fhir-bulk source')
  .description('the job in flight (asked of the server) and the next _since')
  .action(async (source: string) => {
    await bulkStatusCommand(await commandContext(globals()), source, out);
  });
bulk
  .command('cancel')
  .argument('<source>', 'a fhir-bulk source')
  .description('delete the job in flight on the server; the next run starts a new export')
  .action(async (source: string) => {
    await bulkCancelCommand(await commandContext(globals()), source, out);
  });

const sftp = program.command('sftp').description('SFTP sources: pin the server');
sftp
  .command('host-key')
  .argument('<host>', 'the SFTP server')
  .option('--port <port>', 'its SSH port', integer, 22)
  .description("print the server's host key fingerprint (for sftp.hostKeySha256) without logging in")
  .action(async (host: string, opts: { port: number }) => {
    await sftpHostKeyCommand(host, opts, out);
  });

const hl7 = program.command('hl7').description('HL7 v2 files: look inside without landing them');
hl7
  .command('inspect')
  .argument('<file>', 'an HL7 v2 file (plain, batched FHS/BHS…BTS/FTS, or MLLP-framed)')
  .option('--json', 'JSON Lines: one object per message, control segment or garbage, then a summary')
  .option('--timezone <iana>', 'time zone for MSH-7 values sent without an offset', 'Europe/London')
  .description('split, reconcile and parse a file as landing would; exit 1 if anything is rejected or does not reconcile')
  .action(async (file: string, opts: { json?: boolean; timezone: string }) => {
    process.exitCode = await hl7InspectCommand(file, { json: opts.json ?? false, timezone: opts.timezone, verbose: globals().verbose ?? false });
  });

program
  .command('start')
  .description('the demo end to end: generate sources if absent, run, build, serve')
  .action(async () => {
    await startCommand(await commandContext(globals()), out);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportFailure(err, globals().verbose ?? false);
}
