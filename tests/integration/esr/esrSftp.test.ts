// ESR (and HL7) files fetched from a real OpenSSH sshd (internal-sftp) on loopback and landed by a real
// run: sequence order, host-key pinning, files still being written left alone, a server restart
// survived, duplicates never landed twice, whole-file quarantine, sequence repeats and gaps, done
// markers and afterDownload, and a private key others can read refused.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, writeFile, appendFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sourceConfig, type SourceConfig } from '../../../core/config.ts';
import { withDuckDb } from '../../../core/duckdb.ts';
import { CarelakeError } from '../../../core/errors.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource } from '../../../pipelines/runs/runSource.ts';
import { randomHostKeySha256, startSftpServer, type SftpTestServer } from '../../support/sftpServer.ts';
import { assignment, costing, deletion, goFileText, NURSING, organisation, person, position } from '../../support/esrGoFiles.ts';
import { DuckDb } from '../../../core/duckdb.ts';
import { runProject } from '../../../transforms/models/runProject.ts';
import { Pseudonymiser } from '../../../transforms/pseudonymisation/pseudonymiser.ts';
import { registerPseudonymFunction } from '../../../transforms/pseudonymisation/pseudonymSqlFunction.ts';
import { projectRoot } from '../../sharedData.ts';

const esrPerson = (id: string) =>
  person({ personId: id, employeeNumber: `E${id}`, firstName: 'Given', lastName: 'Surname', dateOfBirth: '19800101', niNumber: 'QQ123456C', email: '', phone: '', postcode: '' });
const esrAssignment = (personId: string, assignmentId: string, fte: string) =>
  assignment({ personId, assignmentId, number: `N${assignmentId}`, positionId: 'POS1', orgId: 'ORG1', staffGroup: NURSING, jobRole: 'Staff Nurse', fte, start: '20200101' });

const FULL = 'GO_431_EXP_GOF_20260101_00000001.DAT';
const CHANGES = 'GO_431_EXP_GOC_20260102_00000002.DAT';

let server: SftpTestServer;
beforeAll(async () => {
  server = await startSftpServer();
});
afterAll(async () => {
  await server.stop();
});

let root: string;
let layout: LakeLayout;
let ledger: Ledger;
let remote: string;
let testNumber = 0;
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'carelake-esr-sftp-'));
  layout = new LakeLayout(join(root, 'lake'));
  ledger = Ledger.open(layout.ledger);
  remote = join(server.root, `outbound-${++testNumber}`);
  await mkdir(remote, { recursive: true });
});
afterEach(() => ledger.close());

function esrSource(sftp: Record<string, unknown> = {}): SourceConfig {
  return sourceConfig.parse({
    name: 'esr',
    kind: 'esr',
    sftp: {
      host: server.host,
      port: server.port,
      username: server.username,
      privateKeyFile: server.clientKeyPath,
      hostKeySha256: server.hostKeySha256,
      remoteDir: remote,
      pattern: 'GO_*_GO?_*.DAT',
      stableSeconds: 0,
      retries: 3,
      timeoutSeconds: 5,
      ...sftp,
    },
  });
}

async function run(source: SourceConfig, logger = createLogger(null)) {
  return runSource(source, await listSourceFiles(source, { layout, logger, ledger: () => ledger }), { layout, ledger, logger, trigger: 'manual' });
}

const rawRows = (dataset: string, select: string, order = '1') =>
  withDuckDb(':memory:', {}, (db) => db.all(`SELECT ${select} FROM read_parquet('${layout.rawGlob('esr', dataset)}') ORDER BY ${order}`));

/** A logger whose lines also go to `onLine`, to act when a run reaches a step. */
function watchingLogger(onLine: (line: { msg?: string }) => void) {
  return pino({ level: 'info' }, { write: (text: string) => onLine(JSON.parse(text) as { msg?: string }) });
}

describe('ESR over SFTP', () => {
  it('lands GO files in sequence order with typed columns, and downloads nothing already landed', async () => {
    await writeFile(join(remote, CHANGES), goFileText(CHANGES, [esrPerson('P1'), esrAssignment('P1', 'A1', '0.6')]));
    await writeFile(join(remote, FULL), goFileText(FULL, [esrPerson('P1'), esrAssignment('P1', 'A1', '1'), esrPerson('P2')]));
    const first = await run(esrSource());
    expect(first.run).toMatchObject({ status: 'succeeded', records_in: 5, records_landed: 5, files_seen: 2 });
    expect(first.files.map((f) => f.location)).toEqual([
      `sftp://${server.username}@${server.host}:${server.port}${remote}/${FULL}`,
      `sftp://${server.username}@${server.host}:${server.port}${remote}/${CHANGES}`,
    ]);
    expect(await rawRows('header', `file_name, vpd, extract, file_sequence::INTEGER AS sequence, lines::INTEGER AS lines`, 'sequence')).toEqual([
      { file_name: FULL, vpd: '431', extract: 'full', sequence: 1, lines: 5 },
      { file_name: CHANGES, vpd: '431', extract: 'changes', sequence: 2, lines: 4 },
    ]);
    expect(await rawRows('assignment', `fte, effective_start_date::VARCHAR AS starts, job_name, last_update_at::VARCHAR AS updated, _file LIKE '%' || ${`'${CHANGES}'`} AS from_changes`, '_file')).toEqual([
      { fte: 0.6, starts: '2020-01-01', job_name: ['Nursing and Midwifery Registered', 'Staff Nurse'], updated: '2020-01-01 09:00:00', from_changes: true },
      { fte: 1, starts: '2020-01-01', job_name: ['Nursing and Midwifery Registered', 'Staff Nurse'], updated: '2020-01-01 09:00:00', from_changes: false },
    ]);

    // Same names and sizes: recognised from the ledger without downloading.
    const again = await run(esrSource());
    expect(again.run).toMatchObject({ status: 'succeeded', files_seen: 0, records_in: 0 });
    // The same bytes under another name are downloaded, then skipped by their sha256.
    await copyFile(join(remote, FULL), join(remote, 'GO_431_EXP_GOF_20260103_00000001.DAT'));
    const copy = await run(esrSource());
    expect(copy.run).toMatchObject({ files_seen: 1, files_skipped: 1, records_in: 0 });
    expect(await rawRows('person', 'count(*)::INTEGER AS n')).toEqual([{ n: 3 }]);
  });

  it('gives the right current state when a change file is applied after a full file', async () => {
    const structure = [organisation('ORG1', 'Ward 1', 'CC1'), position('POS1', 'ORG1', NURSING, 'Staff Nurse', 'N0A'), costing('P1', 'A1', 'C1', 'CC1', '100')];
    await writeFile(join(remote, FULL), goFileText(FULL, [...structure, esrPerson('P1'), esrAssignment('P1', 'A1', '1'), esrPerson('P2'), esrAssignment('P2', 'A2', '1'), esrAssignment('P2', 'A3', '0.5')]));
    await writeFile(join(remote, CHANGES), goFileText(CHANGES, [esrAssignment('P1', 'A1', '0.6'), deletion('ASD', 'A3'), deletion('PRD', 'P2')]));
    expect((await run(esrSource())).run.records_landed).toBe(11);
    const pseudonymiser = new Pseudonymiser(Buffer.alloc(32, 9));
    const db = await DuckDb.open(join(root, 'warehouse.duckdb'));
    try {
      registerPseudonymFunction(db, pseudonymiser);
      const { results } = await runProject({
        projectDir: projectRoot,
        db,
        env: {},
        target: { name: 'dev', schema: 'main' },
        now: new Date('2026-01-15T00:00:00Z'),
        vars: { raw_root: layout.rawDir, esr_source: 'esr' },
        select: ['stg_esr_go_file', 'stg_esr_person', 'stg_esr_assignment', 'stg_esr_costing', 'stg_esr_position', 'stg_esr_organisation', 'workforce_assignment'],
      });
      expect(results.results.filter((r) => r.status !== 'success')).toEqual([]);
      // P1's FTE from the change file; P2 deleted, so neither of P2's assignments is current.
      expect(await db.all(`SELECT person_key, fte, staff_group, occupation_code, cost_centre FROM main_curated.workforce_assignment`)).toEqual([
        { person_key: pseudonymiser.token('esr_person', 'P1'), fte: 0.6, staff_group: NURSING, occupation_code: 'N0A', cost_centre: 'CC1' },
      ]);
    } finally {
      db.close();
    }
  });

  it('refuses a server whose host key is not the pinned one, naming both fingerprints', async () => {
    await writeFile(join(remote, FULL), goFileText(FULL, [esrPerson('P1')]));
    const pinned = randomHostKeySha256();
    const error = await run(esrSource({ hostKeySha256: pinned })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CarelakeError);
    expect((error as CarelakeError).code).toBe('sftp.host-key');
    expect((error as CarelakeError).message).toContain(server.hostKeySha256);
    expect((error as CarelakeError).message).toContain(pinned);
    expect(ledger.runs({ source: 'esr' })[0]).toMatchObject({ status: 'failed', records_landed: 0 });
    expect(ledger.files('esr')).toEqual([]);
  });

  it('leaves a file that is still being written for a later run', async () => {
    await writeFile(join(remote, FULL), goFileText(FULL, [esrPerson('P1')]));
    const growing = join(remote, CHANGES);
    await writeFile(growing, `HDR~${CHANGES}~20260101 010000~431~20251231 010000~20260101 010000~3.1\r\n`);
    let n = 0;
    const writer = setInterval(() => void appendFile(growing, `${esrPerson(`G${++n}`)}\r\n`), 150);
    let first;
    try {
      first = await run(esrSource({ stableSeconds: 1 }));
    } finally {
      clearInterval(writer);
    }
    expect(first.files.map((f) => f.location.split('/').pop())).toEqual([FULL]);
    // Finished: the writer adds its trailer; the next run takes it.
    const lines = (await readFile(growing, 'utf8')).split('\r\n').filter((l) => l !== '');
    await appendFile(growing, `TRL~${lines.length + 1}\r\n`);
    const second = await run(esrSource({ stableSeconds: 1 }));
    expect(second.files.map((f) => [f.location.split('/').pop(), f.status, f.recordsLanded])).toEqual([[CHANGES, 'landed', lines.length - 1]]);
  });

  it('survives the server restarting mid-run: the failed listing is retried on a new connection', async () => {
    await writeFile(join(remote, FULL), goFileText(FULL, [esrPerson('P1'), esrPerson('P2')]));
    const messages: string[] = [];
    let restarted: Promise<void> | null = null;
    const logger = watchingLogger((line) => {
      messages.push(line.msg ?? '');
      // Stop the server after the first listing; it is back 1.5 s later, after the second listing failed.
      if (line.msg === 'sftp listing' && restarted === null) {
        restarted = server.stop().then(() => new Promise<void>((resolve) => setTimeout(resolve, 1500))).then(() => server.restart());
      }
    });
    const summary = await run(esrSource({ stableSeconds: 1 }), logger);
    await restarted;
    expect(messages).toContain('sftp list failed; retrying');
    expect(summary.run).toMatchObject({ status: 'succeeded', records_landed: 2 });
  });

  it('quarantines a file whose trailer does not reconcile, landing nothing of it', async () => {
    await writeFile(join(remote, FULL), goFileText(FULL, [esrPerson('P1'), esrPerson('P2')], { trailer: 9 }));
    const summary = await run(esrSource());
    expect(summary.files[0]).toMatchObject({ status: 'quarantined', recordsIn: 2, recordsQuarantined: 2, reconciliation: [{ declared: 9, actual: 4 }] });
    expect(summary.run.status).toBe('partial');
    expect(ledger.quarantine({ runId: summary.run.run_id })[0]).toMatchObject({ record: '(whole file)', field: 'TRL' });
    expect(await readdir(layout.rawDir).catch(() => [])).toEqual([]);
  });

  it('never applies a sequence twice and reports a gap', async () => {
    await writeFile(join(remote, FULL), goFileText(FULL, [esrPerson('P1')]));
    await run(esrSource());
    const repeat = 'GO_431_EXP_GOC_20260105_00000001.DAT';
    const afterGap = 'GO_431_EXP_GOC_20260106_00000003.DAT';
    await writeFile(join(remote, repeat), goFileText(repeat, [esrPerson('P9')]));
    await writeFile(join(remote, afterGap), goFileText(afterGap, [esrPerson('P3')]));
    const summary = await run(esrSource());
    const byName = Object.fromEntries(summary.files.map((f) => [f.location.split('/').pop(), f]));
    expect(byName[repeat]).toMatchObject({ status: 'quarantined', recordsQuarantined: 1 });
    expect(ledger.quarantine({ runId: summary.run.run_id })[0]!.reason).toMatch(/repeats file sequence 1 of VPD 431, already applied from GO_431_EXP_GOF_20260101_00000001\.DAT/);
    expect(byName[afterGap]).toMatchObject({ status: 'landed', recordsLanded: 1, reconciliation: [{ what: expect.stringContaining('GO file sequence of VPD 431'), declared: 2, actual: 3 }] });
    expect((await rawRows('person', 'person_id')).map((r) => r.person_id)).toEqual(['P1', 'P3']);
  });

  it('takes only files with a done marker, and moves them with their marker once landed', async () => {
    await writeFile(join(remote, FULL), goFileText(FULL, [esrPerson('P1')]));
    await writeFile(join(remote, `${FULL}.done`), '');
    await writeFile(join(remote, CHANGES), goFileText(CHANGES, [esrPerson('P2')]));
    const summary = await run(esrSource({ doneMarker: '.done', afterDownload: 'move:archive' }));
    expect(summary.files.map((f) => f.location.split('/').pop())).toEqual([FULL]);
    expect((await readdir(join(remote, 'archive'))).sort()).toEqual([FULL, `${FULL}.done`]);
    expect((await readdir(remote)).sort()).toEqual([CHANGES, 'archive']);
  });

  it('checks a download against a .sha256 sidecar when the server provides one', async () => {
    const text = goFileText(FULL, [esrPerson('P1')]);
    await writeFile(join(remote, FULL), text);
    await writeFile(join(remote, `${FULL}.sha256`), `${'0'.repeat(64)}  ${FULL}\n`);
    const error = await run(esrSource()).catch((err: unknown) => err);
    expect((error as CarelakeError).code).toBe('sftp.checksum');
    expect(ledger.files('esr')).toEqual([]);
    await writeFile(join(remote, `${FULL}.sha256`), `${createHash('sha256').update(text).digest('hex')}  ${FULL}\n`);
    expect((await run(esrSource())).run).toMatchObject({ status: 'succeeded', records_landed: 1 });
  });

  it('deletes landed files with afterDownload delete', async () => {
    await writeFile(join(remote, FULL), goFileText(FULL, [esrPerson('P1')]));
    await run(esrSource({ afterDownload: 'delete' }));
    expect(await readdir(remote)).toEqual([]);
  });

  it('refuses a private key file that others can read', async () => {
    const exposed = join(root, 'exposed_ed25519');
    await copyFile(server.clientKeyPath, exposed);
    await chmod(exposed, 0o644);
    await writeFile(join(remote, FULL), goFileText(FULL, [esrPerson('P1')]));
    const error = await run(esrSource({ privateKeyFile: exposed })).catch((err: unknown) => err);
    expect((error as CarelakeError).code).toBe('sftp.key');
    expect((error as CarelakeError).message).toMatch(/mode 0644/);
  });

  it('prints the host key to pin with `carelake sftp host-key`, without logging in', async () => {
    const bin = resolve(import.meta.dirname, '../../../bin/carelake.mjs');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, 'sftp', 'host-key', server.host, '--port', String(server.port)], { cwd: root });
    expect(stdout.trim()).toBe(server.hostKeySha256);
    expect(stderr).toMatch(/Confirm the fingerprint with the server's operators/);
  });

  it('serves HL7 v2 sources too', async () => {
    const message = ['MSH|^~\\&|PAS|RX1|CARELAKE|QCL|20260101120000||ADT^A01^ADT_A01|M1|P|2.4', 'PID|1||123^^^RX1^MR'].join('\r');
    await writeFile(join(remote, 'adt-1.hl7'), message + '\r');
    const source = sourceConfig.parse({
      name: 'pas',
      kind: 'hl7v2',
      sftp: { host: server.host, port: server.port, username: server.username, privateKeyFile: server.clientKeyPath, hostKeySha256: server.hostKeySha256, remoteDir: remote, pattern: '*.hl7', stableSeconds: 0 },
    });
    const summary = await run(source);
    expect(summary.run).toMatchObject({ status: 'succeeded', records_landed: 1 });
  });
});
