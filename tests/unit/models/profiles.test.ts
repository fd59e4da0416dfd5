import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { profilePathMismatch, readTargetProfile } from '../../../transforms/models/profiles.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'carelake-profile-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PROFILE = `carelake:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: lake/warehouse.duckdb
      schema: "{{ env_var('SCHEMA', 'main') }}"
      threads: 4
      settings: {memory_limit: 2GB}
    ci:
      type: duckdb
      path: ":memory:"
`;

describe('readTargetProfile', () => {
  it('reads the default target, rendering env_var with its default', async () => {
    await writeFile(join(dir, 'profiles.yml'), PROFILE);
    expect(await readTargetProfile(dir, 'carelake', null, {})).toEqual({
      name: 'dev',
      schema: 'main',
      threads: 4,
      path: 'lake/warehouse.duckdb',
      externalRoot: null,
      settings: { memory_limit: '2GB' },
    });
    expect((await readTargetProfile(dir, 'carelake', null, { SCHEMA: 'analytics' }))?.schema).toBe('analytics');
    expect((await readTargetProfile(dir, 'carelake', 'ci', {}))?.path).toBe(':memory:');
  });

  it('is null without a file, and names the problem in a bad one', async () => {
    expect(await readTargetProfile(dir, 'carelake', null, {})).toBeNull();
    await writeFile(join(dir, 'profiles.yml'), PROFILE.replace('type: duckdb', 'type: postgres'));
    await expect(readTargetProfile(dir, 'carelake', null, {})).rejects.toThrow(/profiles.yml key 'carelake.outputs.dev.type' is invalid/);
    await writeFile(join(dir, 'profiles.yml'), PROFILE);
    await expect(readTargetProfile(dir, 'carelake', 'prod', {})).rejects.toThrow(/has no output 'prod'; it has dev, ci/);
    await expect(readTargetProfile(dir, 'other', null, {})).rejects.toThrow(/has no profile 'other'/);
  });

  it('says when dbt would write another database than the lake', async () => {
    await writeFile(join(dir, 'profiles.yml'), PROFILE);
    const profile = await readTargetProfile(dir, 'carelake', null, {});
    expect(profilePathMismatch(profile, dir, join(dir, 'lake', 'warehouse.duckdb'))).toBeNull();
    expect(profilePathMismatch(profile, dir, '/elsewhere/warehouse.duckdb')).toBe(join(dir, 'lake', 'warehouse.duckdb'));
  });
});
