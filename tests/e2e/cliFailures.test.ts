// Failures a user meets, through the real `carelake` command: each gives one clear line naming what
// and where, exits non-zero, and leaves the lake exactly as it was.

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { carelakeCli } from '../support/carelakeCli.ts';

const carelake = (cwd: string, ...args: string[]) => carelakeCli(cwd, args);

/** Every file under the lake with its size and hash: "unchanged" means this is identical. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[path] = `${statSync(path).size}:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  }
  return out;
}

describe('carelake CLI failures leave the lake unchanged', () => {
  let dir: string;
  let lake: string;
  const config = (sources: string) => writeFileSync(join(dir, 'carelake.yml'), `lake: ./lake\nsources:\n${sources}\n`);
  const goodSources = `  - { name: pas, kind: hl7v2, path: "./hl7/*.hl7" }\n  - { name: esr, kind: esr, path: ./esr }`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'carelake-cli-'));
    lake = join(dir, 'lake');
    expect((await carelake(dir, 'generate', '--patients', '60', '--seed', '3', '--out', 'gen')).code).toBe(0);
    mkdirSync(join(dir, 'hl7'));
    mkdirSync(join(dir, 'esr'));
    // One file of each kind, so the next failures meet a lake that already has data.
    const hl7 = readdirSync(join(dir, 'gen', 'hl7')).sort()[0]!;
    writeFileSync(join(dir, 'hl7', hl7), readFileSync(join(dir, 'gen', 'hl7', hl7)));
    const esr = readdirSync(join(dir, 'gen', 'esr')).sort()[0]!;
    writeFileSync(join(dir, 'esr', esr), readFileSync(join(dir, 'gen', 'esr', esr)));
    config(goodSources);
    const first = await carelake(dir, 'load');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/pas: succeeded/);
  }, 120_000);

  const cases: { description: string; arrange: () => void; expected: RegExp; exitCode: number }[] = [
    {
      description: 'a config with a wrong key names the key and what was expected',
      arrange: () => config(`  - { name: pas, kind: hl7v2, paths: "./hl7/*.hl7" }`),
      expected: /carelake\.yml has 2 problems:.*sources\[0\]: unknown key 'paths'.*sources\[0\]\.path: give exactly one of 'path' \(local files\) or 'sftp'/s,
      exitCode: 2,
    },
    {
      description: 'a missing source folder names the source and the folder',
      arrange: () => config(`${goodSources}\n  - { name: gp, kind: fhir-bulk-files, path: ./no-such-export }`),
      expected: /Cannot read the manifest of source 'gp' at .*no-such-export\/manifest\.json: it does not exist/,
      exitCode: 1,
    },
    {
      description: 'an unreadable file names the file, before anything lands',
      arrange: () => {
        config(goodSources);
        // A new good file that would land, and a file that cannot be read: nothing may land.
        const hl7 = readdirSync(join(dir, 'gen', 'hl7')).sort()[1]!;
        writeFileSync(join(dir, 'hl7', hl7), readFileSync(join(dir, 'gen', 'hl7', hl7)));
        symlinkSync(join(dir, 'gone.DAT'), join(dir, 'esr', 'GO_431_EXP_GOC_20260102_00000009.DAT'));
      },
      expected: /Cannot read source file .*GO_431_EXP_GOC_20260102_00000009\.DAT: it does not exist.*source 'esr'/s,
      exitCode: 1,
    },
  ];

  it.each(cases)('$description', async ({ arrange, expected, exitCode }) => {
    const before = snapshot(lake);
    expect(Object.keys(before).length).toBeGreaterThan(0);
    arrange();
    const result = await carelake(dir, 'load');
    expect(result.code).toBe(exitCode);
    expect(result.stderr).toMatch(/^error: /);
    expect(result.stderr).toMatch(expected);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack without --verbose
    expect(snapshot(lake)).toEqual(before);
  });

  it('a warehouse build holds the lake lock: a second build is refused with the holder named', async () => {
    rmSync(join(dir, 'esr', 'GO_431_EXP_GOC_20260102_00000009.DAT'), { force: true });
    mkdirSync(join(lake, 'locks'), { recursive: true });
    writeFileSync(join(lake, 'locks', 'warehouse.lock'), JSON.stringify({ pid: process.pid, purpose: 'warehouse build', since: '2026-01-01T00:00:00.000Z' }));
    const before = snapshot(lake);
    const result = await carelake(dir, 'build');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`The lake is busy: process ${process.pid} .*warehouse build`));
    expect(snapshot(lake)).toEqual(before);
    rmSync(join(lake, 'locks', 'warehouse.lock'));
  });
});
