import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openConceptMap } from '../../../transforms/terminology/conceptMap.ts';
import { CODE_SYSTEMS, type MapEntry } from '../../../transforms/terminology/mapEntry.ts';
import { carelakeFailure, readEntries } from '../../support/terminologyFiles.ts';

const dir = mkdtempSync(join(tmpdir(), 'carelake-conceptmap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

function writeJson(json: unknown): string {
  fileCount += 1;
  const file = join(dir, `map-${fileCount}.json`);
  writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json, null, 2));
  return file;
}

const read = (file: string): Promise<MapEntry[]> => readEntries(openConceptMap(file));

const LOCAL = 'https://trust.example.nhs.uk/CodeSystem/lab-tests';

const r4Map = {
  resourceType: 'ConceptMap',
  url: 'https://trust.example.nhs.uk/ConceptMap/lab-to-snomed',
  version: '2025-01',
  name: 'LabToSnomed',
  status: 'active',
  group: [
    {
      source: LOCAL,
      target: 'sct',
      element: [
        { code: 'HB', display: 'Haemoglobin', target: [{ code: '271026005', display: 'Haemoglobin estimation', equivalence: 'equivalent' }] },
        {
          code: 'LFT',
          target: [
            { code: '26958001', equivalence: 'wider', comment: 'panel' },
            { code: '250637003', equivalence: 'inexact' },
          ],
        },
        { code: 'XX1' },
        { code: 'XX2', target: [{ equivalence: 'unmatched', comment: 'retired test' }] },
        { code: 'XX3', target: [{ code: '1234', equivalence: 'unmatched' }] },
      ],
    },
    {
      source: 'icd10',
      target: CODE_SYSTEMS.snomed,
      element: [{ code: 'I21.9', target: [{ code: '22298006', equivalence: 'narrower' }] }],
    },
  ],
};

describe('openConceptMap', () => {
  it('reads an R4 ConceptMap: one entry per element target, running element index as line', async () => {
    const file = writeJson(r4Map);
    const map = await openConceptMap(file);
    expect(map.format).toBe('conceptmap');
    expect(map.facts).toEqual({ url: 'https://trust.example.nhs.uk/ConceptMap/lab-to-snomed', version: '2025-01', name: 'LabToSnomed' });
    const entries = await read(file);
    expect(entries[0]).toEqual({
      line: 1,
      sourceSystem: LOCAL,
      sourceCode: 'HB',
      sourceDisplay: 'Haemoglobin',
      targetSystem: CODE_SYSTEMS.snomed,
      targetCode: '271026005',
      targetDisplay: 'Haemoglobin estimation',
      equivalence: 'equivalent',
      comment: null,
      active: true,
      rowId: null,
      effectiveTime: null,
      refsetId: null,
      mapGroup: null,
      mapPriority: null,
      mapRule: null,
      mapAdvice: null,
      correlationId: null,
      mapCategoryId: null,
      mapBlock: null,
    } satisfies MapEntry);
    expect(entries.map((e) => [e.line, e.sourceSystem, e.sourceCode, e.targetCode, e.equivalence, e.comment])).toEqual([
      [1, LOCAL, 'HB', '271026005', 'equivalent', null],
      [2, LOCAL, 'LFT', '26958001', 'wider', 'panel'],
      [2, LOCAL, 'LFT', '250637003', 'inexact', null],
      [3, LOCAL, 'XX1', null, 'unmatched', null],
      [4, LOCAL, 'XX2', null, 'unmatched', 'retired test'],
      [5, LOCAL, 'XX3', null, 'unmatched', null],
      [6, CODE_SYSTEMS.icd10, 'I21.9', '22298006', 'narrower', null],
    ]);
  });

  it('accepts R5 relationship instead of equivalence', async () => {
    const relationships = ['equivalent', 'source-is-narrower-than-target', 'source-is-broader-than-target', 'related-to', 'not-related-to'];
    const file = writeJson({
      resourceType: 'ConceptMap',
      group: [{ source: `${LOCAL}|3`, target: CODE_SYSTEMS.snomed, element: relationships.map((relationship, i) => ({ code: `C${i}`, target: [{ code: `10000${i}`, relationship }] })) }],
    });
    const entries = await read(file);
    expect(entries.map((e) => e.equivalence)).toEqual(['equivalent', 'wider', 'narrower', 'relatedto', 'disjoint']);
    // A canonical's |version is not part of the system.
    expect(entries[0]!.sourceSystem).toBe(LOCAL);
  });

  it('reads a Bundle of ConceptMaps, skipping other resources, numbering elements across maps', async () => {
    const second = { resourceType: 'ConceptMap', url: 'https://example.org/ConceptMap/b', group: [{ source: 'opcs4', target: 'snomed', element: [{ code: 'X384', target: [{ code: '1234567', equivalence: 'equal' }] }] }] };
    const file = writeJson({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: r4Map }, { resource: { resourceType: 'Patient', id: 'p1' } }, { resource: second }],
    });
    const map = await openConceptMap(file);
    expect(map.facts).toEqual({ url: 'https://trust.example.nhs.uk/ConceptMap/lab-to-snomed, https://example.org/ConceptMap/b', version: '2025-01', name: 'LabToSnomed' });
    const entries = await read(file);
    expect(entries).toHaveLength(8);
    expect(entries.at(-1)).toMatchObject({ line: 7, sourceSystem: CODE_SYSTEMS.opcs4, sourceCode: 'X384', targetSystem: CODE_SYSTEMS.snomed, equivalence: 'equal' });
  });

  it('has null facts when the map does not say, and no entries without groups', async () => {
    const file = writeJson({ resourceType: 'ConceptMap', status: 'draft' });
    const map = await openConceptMap(file);
    expect(map.facts).toEqual({ url: null, version: null, name: null });
    expect(await read(file)).toEqual([]);
  });

  it('tolerates a BOM', async () => {
    const file = writeJson(`\uFEFF${JSON.stringify(r4Map)}`);
    expect(await read(file)).toHaveLength(7);
  });

  describe('errors', () => {
    it('an invalid equivalence, naming its path', async () => {
      const bad = structuredClone(r4Map);
      bad.group[0]!.element[1]!.target![1]!.equivalence = 'same-ish';
      const file = writeJson(bad);
      const err = await carelakeFailure(openConceptMap(file));
      expect(err.code).toBe('terminology.conceptmap-invalid');
      expect(err.kind).toBe('parse');
      expect(err.location).toEqual({ file, field: 'group[0].element[1].target[1].equivalence' });
      expect(err.message).toContain('group[0].element[1].target[1].equivalence must be one of relatedto');
      expect(err.message).not.toContain('same-ish');
    });

    it('an invalid equivalence inside a Bundle names the entry too', async () => {
      const bad = structuredClone(r4Map);
      bad.group[1]!.element[0]!.target![0]!.equivalence = 'nope';
      const file = writeJson({ resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Basic' } }, { resource: bad }] });
      const err = await carelakeFailure(openConceptMap(file));
      expect(err.location).toEqual({ file, field: 'entry[1].resource.group[1].element[0].target[0].equivalence' });
    });

    it('an invalid R5 relationship', async () => {
      const file = writeJson({ resourceType: 'ConceptMap', group: [{ source: LOCAL, target: 'sct', element: [{ code: 'A', target: [{ code: '1', relationship: 'equal' }] }] }] });
      expect((await carelakeFailure(openConceptMap(file))).location).toEqual({ file, field: 'group[0].element[0].target[0].relationship' });
    });

    it('a target with neither equivalence nor relationship', async () => {
      const file = writeJson({ resourceType: 'ConceptMap', group: [{ source: LOCAL, target: 'sct', element: [{ code: 'A', target: [{ code: '1' }] }] }] });
      const err = await carelakeFailure(openConceptMap(file));
      expect(err.location).toEqual({ file, field: 'group[0].element[0].target[0].equivalence' });
      expect(err.message).toContain('is required');
    });

    it('a group without source or target, naming the group', async () => {
      const noSource = writeJson({ resourceType: 'ConceptMap', group: [r4Map.group[0], { target: 'sct', element: [] }] });
      const err = await carelakeFailure(openConceptMap(noSource));
      expect(err.location).toEqual({ file: noSource, field: 'group[1].source' });
      expect(err.message).toContain('group[1].source is required');
      const noTarget = writeJson({ resourceType: 'ConceptMap', group: [{ source: LOCAL, element: [] }] });
      expect((await carelakeFailure(openConceptMap(noTarget))).location).toEqual({ file: noTarget, field: 'group[0].target' });
    });

    it('an element without a code', async () => {
      const file = writeJson({ resourceType: 'ConceptMap', group: [{ source: LOCAL, target: 'sct', element: [{ display: 'x' }] }] });
      expect((await carelakeFailure(openConceptMap(file))).location).toEqual({ file, field: 'group[0].element[0].code' });
    });

    it('not a ConceptMap', async () => {
      const file = writeJson({ resourceType: 'ValueSet', id: 'vs' });
      const err = await carelakeFailure(openConceptMap(file));
      expect(err.code).toBe('terminology.conceptmap-invalid');
      expect(err.message).toContain('is a ValueSet, not a ConceptMap');
      expect((await carelakeFailure(openConceptMap(writeJson([1, 2])))).message).toContain('has no FHIR resourceType');
      expect((await carelakeFailure(openConceptMap(writeJson({ resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Patient' } }] })))).message).toContain(
        'no ConceptMap',
      );
    });

    it('not JSON, without quoting the file', async () => {
      const file = writeJson('{ "resourceType": "ConceptMap", secret-ish }');
      const err = await carelakeFailure(openConceptMap(file));
      expect(err.code).toBe('terminology.conceptmap-json');
      expect(err.message).not.toContain('secret');
    });

    it('a missing file', async () => {
      expect((await carelakeFailure(openConceptMap(join(dir, 'none.json')))).code).toBe('fs.enoent');
    });
  });
});
