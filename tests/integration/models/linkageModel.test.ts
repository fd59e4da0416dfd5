// `materialized='linkage'` in the model runner: a project whose person_xref model links seeded
// patient records, built twice on the same database so person ids must survive the rebuild.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { runProject } from '../../../transforms/models/runProject.ts';
import { NOW, TARGET, tinyProject } from './tinyProject.ts';

const HEADER = 'record_id,source,given_name,family_name,birth_date,sex,postcode,nhs_number,nhs_number_verification_status,linked_record_id';

// Valid Modulus 11 numbers outside the 999 test range, so linkage counts them without being told to.
const PEOPLE = [
  'gp/1,gp,Margaret,Thompson,1948-03-12,female,LS6 2AB,9434765919,01,',
  'pas/1,pas,Maggie,Thompson,1948-03-12,female,LS6 2AB,,,',
  'gp/2,gp,Oluwaseun,Adeyemi,1990-11-02,male,BD7 1AA,4010232137,01,',
  'pas/2,pas,Oluwaseun,Adeyemi,1990-11-02,male,BD7 1AA,4010232137,01,',
  'gp/3,gp,Harriet,Blackwood,1975-07-30,female,HX1 5QT,,,',
  'pas/3,pas,Thomas,Okonkwo,1962-01-19,male,WF1 2EE,,,',
  // an A40 merge: a temporary registration that names the record it was merged into
  'pas/4,pas,Unknown,Patient,2001-01-01,unknown,,,,gp/3',
];

const MODEL = `{{ config(materialized='linkage', threshold=0.9) }}
select * from {{ ref('patients') }}
`;

function seed(rows: readonly string[]): string {
  return `${HEADER}\n${rows.join('\n')}\n`;
}

async function xref(db: DuckDb): Promise<Map<string, { person: string; rule: string }>> {
  const rows = await db.all(`SELECT source_record_id, person_id, rule FROM main.person_xref ORDER BY source_record_id`);
  return new Map(rows.map((r) => [String(r.source_record_id), { person: String(r.person_id), rule: String(r.rule) }]));
}

describe("materialized='linkage'", () => {
  it('builds person_xref with its companions, then keeps person ids when records arrive', async () => {
    const project = await tinyProject({ 'seeds/patients.csv': seed(PEOPLE), 'models/person_xref.sql': MODEL });
    const db = await DuckDb.open(':memory:');
    try {
      const first = await runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: NOW, command: 'build' });
      expect(first.results.results.map((r) => r.status)).toEqual(['success', 'success']);
      const before = await xref(db);
      expect(before.size).toBe(PEOPLE.length);
      expect(before.get('gp/1')!.person).toBe(before.get('pas/1')!.person);
      expect(before.get('gp/2')!.rule).toBe('deterministic');
      expect(before.get('pas/4')).toEqual({ person: before.get('gp/3')!.person, rule: 'merge' });
      expect(before.get('pas/3')!.rule).toBe('unlinked');
      expect(new Set([...before.values()].map((v) => v.person)).size).toBe(4);
      for (const companion of ['records', 'pairs', 'review', 'retired', 'registry', 'model']) {
        expect(Number(await db.scalar(`SELECT count(*) FROM information_schema.tables WHERE table_name = 'person_xref_${companion}'`))).toBe(1);
      }
      const model = JSON.parse(String(await db.scalar(`SELECT model FROM main.person_xref_model`))) as { format: string };
      expect(model.format).toBe('carelake-linkage-model');

      // New records: a GP record for Thomas Okonkwo (known from pas/3) and one for someone new.
      const later = [...PEOPLE, 'gp/5,gp,Thomas,Okonkwo,1962-01-19,male,WF1 2EE,,,', 'gp/6,gp,Priya,Raman,1983-05-05,female,LS2 9JT,,,'];
      await writeFile(join(project.dir, 'seeds/patients.csv'), seed(later));
      const second = await runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: new Date(NOW.getTime() + 86_400_000), command: 'build' });
      expect(second.results.results.every((r) => r.status === 'success')).toBe(true);
      const after = await xref(db);
      for (const [record, value] of before) expect(after.get(record)!.person, record).toBe(value.person);
      expect(after.get('gp/5')!.person).toBe(before.get('pas/3')!.person);
      expect([...before.values()].some((v) => v.person === after.get('gp/6')!.person)).toBe(false);
      expect(Number(await db.scalar(`SELECT count(*) FROM main.person_xref_registry`))).toBe(5);
    } finally {
      db.close();
      await project.cleanup();
    }
  });

  it('a merge of two earlier people keeps the older id and records the retired one', async () => {
    const florence = 'a/1,a,Florence,Nightingale,1920-05-12,female,SE1 7EH,,,';
    const mary = 'b/1,b,Mary,Seacole,1905-11-23,female,W1 1AA,,,';
    const project = await tinyProject({ 'seeds/patients.csv': seed([florence]), 'models/person_xref.sql': MODEL });
    const db = await DuckDb.open(':memory:');
    const day = (n: number) => new Date(NOW.getTime() + n * 86_400_000);
    try {
      await runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: day(0), command: 'build' });
      await writeFile(join(project.dir, 'seeds/patients.csv'), seed([florence, mary]));
      await runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: day(1), command: 'build' });
      const before = await xref(db);
      expect(before.get('a/1')!.person).not.toBe(before.get('b/1')!.person);
      // A merge message joins Mary's record to Florence's: Florence's id is older, so it survives.
      await writeFile(join(project.dir, 'seeds/patients.csv'), seed([florence, mary, 'c/1,c,Mary,Seacole,1905-11-23,female,W1 1AA,,,a/1']));
      await runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: day(2), command: 'build' });
      const after = await xref(db);
      const survivor = before.get('a/1')!.person;
      expect([after.get('a/1')!.person, after.get('b/1')!.person, after.get('c/1')!.person]).toEqual([survivor, survivor, survivor]);
      const retired = await db.all(`SELECT retired_person_id, person_id FROM main.person_xref_retired`);
      expect(retired).toEqual([{ retired_person_id: before.get('b/1')!.person, person_id: survivor }]);
    } finally {
      db.close();
      await project.cleanup();
    }
  });

  it('reports a bad linkage config and a missing record_id against the model', async () => {
    const project = await tinyProject({ 'seeds/patients.csv': seed(PEOPLE), 'models/person_xref.sql': `{{ config(materialized='linkage', threshold=2) }}\nselect * from {{ ref('patients') }}` });
    const db = await DuckDb.open(':memory:');
    try {
      const outcome = await runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: NOW, command: 'build' });
      const model = outcome.results.results.find((r) => r.unique_id === 'model.carelake.person_xref')!;
      expect(model.status).toBe('error');
      expect(model.message).toMatch(/linkage model person_xref .*threshold must be a probability/);
      await writeFile(join(project.dir, 'models/person_xref.sql'), `{{ config(materialized='linkage') }}\nselect * exclude (record_id) from {{ ref('patients') }}`);
      const again = await runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: NOW, command: 'build' });
      expect(again.results.results.find((r) => r.unique_id === 'model.carelake.person_xref')!.message).toMatch(/must have a record_id column/);
    } finally {
      db.close();
      await project.cleanup();
    }
  });
});
