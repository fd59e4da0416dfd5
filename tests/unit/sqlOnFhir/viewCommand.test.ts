// `carelake view run` and `carelake view sql` on real files in a temp folder: resources as a JSON
// array, a Bundle, one resource or NDJSON; the output line; an invalid view failing with its path.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Console } from '../../../cli/console.ts';
import { viewRunCommand, viewSqlCommand } from '../../../cli/commands/view.ts';
import { CarelakeError } from '../../../core/errors.ts';

function collector(): Console & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (l) => lines.push(l), warn: (l) => lines.push(`warning: ${l}`), progress: () => {}, done: () => {} };
}

const patients = [
  { resourceType: 'Patient', id: 'p1', name: [{ family: 'Ng' }] },
  { resourceType: 'Patient', id: 'p2' },
];
const view = { resourceType: 'ViewDefinition', resource: 'Patient', select: [{ column: [{ name: 'id', path: 'id' }, { name: 'family', path: 'name.family.first()' }] }] };
const expected = { columns: ['id', 'family'], rows: [{ id: 'p1', family: 'Ng' }, { id: 'p2', family: null }] };

describe('view commands', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carelake-view-'));
    await writeFile(join(dir, 'view.json'), JSON.stringify(view));
    await writeFile(join(dir, 'array.json'), JSON.stringify(patients));
    await writeFile(join(dir, 'bundle.json'), JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: patients.map((resource) => ({ resource })) }));
    await writeFile(join(dir, 'patients.ndjson'), patients.map((p) => JSON.stringify(p)).join('\n'));
    await writeFile(join(dir, 'bad-view.json'), JSON.stringify({ ...view, where: [{ path: 'name.family' }] }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([{ description: 'a JSON array', file: 'array.json' }, { description: 'a Bundle', file: 'bundle.json' }, { description: 'NDJSON', file: 'patients.ndjson' }])(
    'runs a view over $description',
    async ({ file }) => {
      const out = collector();
      await viewRunCommand({ view: join(dir, 'view.json'), resources: join(dir, file) }, out);
      const printed = JSON.parse(out.lines.join('\n')) as typeof expected;
      expect(printed.columns).toEqual(expected.columns);
      expect(printed.rows.sort((a, b) => a.id.localeCompare(b.id))).toEqual(expected.rows);
    },
  );

  it('fails on an invalid view with its file and path in the view', async () => {
    const error = await viewRunCommand({ view: join(dir, 'bad-view.json'), resources: join(dir, 'array.json') }, collector()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CarelakeError);
    expect((error as CarelakeError).message).toMatch(/bad-view\.json is invalid: where\[0\]\.path: /);
  });

  it('prints the compiled SQL, reading the raw table of the resource type by default', async () => {
    const out = collector();
    await viewSqlCommand({ view: join(dir, 'view.json') }, out);
    expect(out.lines.join('\n')).toContain('FROM "raw"."patient" AS src');
    const json = collector();
    await viewSqlCommand({ view: join(dir, 'view.json'), mode: 'json', from: 'my_table' }, json);
    expect(json.lines.join('\n')).toContain('to_json(');
  });
});
