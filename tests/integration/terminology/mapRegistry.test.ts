// Maps registered in a real DuckDB warehouse: both RF2 layouts with snapshot semantics, ConceptMap and
// CSV maps, the reverse-lookup selection rule, precedence between maps, idempotent and versioned loads,
// $translate, and map_to_snomed (macros/terminology.sql) over facts in every form.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { CarelakeError } from '../../../core/errors.ts';
import { registerMap, removeMap } from '../../../transforms/terminology/mapRegistry.ts';
import { CODE_SYSTEMS } from '../../../transforms/terminology/mapEntry.ts';
import { withCheckDigit } from '../../../transforms/terminology/sctid.ts';
import { translateCode } from '../../../transforms/terminology/translate.ts';
import { renderWithProjectMacros } from '../../support/projectMacros.ts';
import { rf2Id, writeConceptMap, writeCsvMap, writeRf2 } from '../../support/terminologyFiles.ts';

const NOW = new Date('2026-11-21T09:00:00Z');
const LOCAL_LAB = 'https://lab.example.nhs.uk/CodeSystem/tests';
const LOCAL_PROBLEM = 'https://gp.example.nhs.uk/CodeSystem/problems';
// Made-up concept ids (extension partition 10), valid by check digit.
const LFT_WIDER = withCheckDigit('99753100000010');
const BONE_A = withCheckDigit('100000100000010');
const BONE_B = withCheckDigit('100001100000010');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'carelake-terminology-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function withDb<T>(work: (db: DuckDb) => Promise<T>): Promise<T> {
  const db = await DuckDb.open(':memory:');
  try {
    return await work(db);
  } finally {
    db.close();
  }
}

async function lookup(db: DuckDb, system: string, key: string) {
  return db.all(
    `SELECT map_name, map_rule, snomed_code, is_preferred, list_transform(candidates, lambda c: c.code) AS candidates
     FROM terminology.code_lookup WHERE source_system = $1 AND source_key = $2 ORDER BY NOT is_preferred, map_name`,
    [system, key],
  );
}

/** An International-layout map with every case the selection rule distinguishes. */
function internationalMap(): string {
  const inactiveId = rf2Id();
  const supersededId = rf2Id();
  return writeRf2(dir, 'international', [
    // J45.9: two concepts map there unconditionally → two strong candidates → ambiguous.
    { concept: '195967001', target: 'J45.9' },
    { concept: '233678006', target: 'J45.9' },
    // I10: one strong candidate.
    { concept: '38341003', target: 'I10' },
    // E11.9: one strong candidate, and one concept that maps there only under a rule.
    { concept: '44054006', target: 'E11.9' },
    { concept: '313436004', target: 'E11.9', rule: 'IFA 248152002 | Female (finding) |', advice: 'IF FEMALE CHOOSE E11.9' },
    { concept: '313436004', target: 'E11.8', priority: 2, rule: 'OTHERWISE TRUE', advice: 'OTHERWISE E11.8' },
    // A concept with a second group (an additional code) is still single-target in group 1.
    { concept: '22298006', target: 'I21.9' },
    { concept: '22298006', target: 'Y83.9', group: 2 },
    // Inactive at its latest effectiveTime: gone, although an older row was active.
    { id: inactiveId, effectiveTime: '20200131', concept: '233604007', target: 'J18.1' },
    { id: inactiveId, effectiveTime: '20240131', active: false, concept: '233604007', target: 'J18.1' },
    // Superseded: the later row's target replaces the earlier one's.
    { id: supersededId, effectiveTime: '20200131', concept: '233604007', target: 'J18.0' },
    { id: supersededId, effectiveTime: '20240131', concept: '233604007', target: 'J18.9' },
    // Not mappable: an empty target.
    { concept: '404684003', target: '', rule: 'TRUE', advice: 'MAPPED TO NOT CLASSIFIABLE', correlation: '447556008' },
  ]);
}

function ukMap(): string {
  return writeRf2(dir, 'uk-clinical', [
    { concept: '24700007', target: 'G35X', rule: '', advice: '' },
    { concept: '38341003', target: 'I10X', rule: '', advice: '' },
    { concept: '1156040003', target: '#NC', rule: '', advice: '' },
    { concept: '162864005', target: '#NIS', rule: '', advice: '' },
    // A dagger/asterisk pair: two groups of one concept.
    { concept: '58437007', target: 'A170', rule: '', advice: '' },
    { concept: '58437007', target: 'G01X', group: 2, rule: '', advice: '' },
    // OPCS-4.10 in the same file.
    { concept: '80146002', target: 'H011', refset: '1382401000000109', rule: '', advice: '' },
  ]);
}

describe('RF2 extended maps', () => {
  it('International: snapshot semantics, unclassifiable targets and the reverse-lookup rule', async () => {
    await withDb(async (db) => {
      const loaded = await registerMap(db, { file: internationalMap(), name: 'int-icd10', version: '20250401', origin: 'cli', now: NOW });
      expect(loaded).toMatchObject({ status: 'loaded', format: 'rf2', rowsRead: 13, entries: 10, inactiveOrSuperseded: 3, unclassifiable: 0 });
      const icd = CODE_SYSTEMS.icd10;
      expect(await lookup(db, icd, 'J459')).toEqual([{ map_name: 'int-icd10', map_rule: 'reverse-ambiguous', snomed_code: null, is_preferred: true, candidates: ['195967001', '233678006'] }]);
      expect(await lookup(db, icd, 'I10')).toMatchObject([{ map_rule: 'reverse-unique', snomed_code: '38341003' }]);
      // The conditional candidate is kept, listed after the strong one, but does not stop it winning.
      expect(await lookup(db, icd, 'E119')).toMatchObject([{ map_rule: 'reverse-unique', snomed_code: '44054006', candidates: ['44054006', '313436004'] }]);
      // Only a conditional candidate: kept, but not chosen.
      expect(await lookup(db, icd, 'E118')).toMatchObject([{ map_rule: 'reverse-ambiguous', snomed_code: null, candidates: ['313436004'] }]);
      expect(await lookup(db, icd, 'I219')).toMatchObject([{ map_rule: 'reverse-unique', snomed_code: '22298006' }]);
      expect(await lookup(db, icd, 'J189')).toMatchObject([{ map_rule: 'reverse-unique', snomed_code: '233604007' }]);
      expect(await lookup(db, icd, 'J180')).toEqual([]);
      expect(await lookup(db, icd, 'J181')).toEqual([]);
      const notMappable = await db.all(`SELECT target_code, equivalence FROM terminology.map_entries WHERE source_key = '404684003'`);
      expect(notMappable).toEqual([{ target_code: null, equivalence: 'unmatched' }]);
      const map = await db.all(`SELECT format, facts, latest_effective_time, source_systems, target_systems FROM terminology.maps`);
      expect(map).toEqual([
        { format: 'rf2', facts: JSON.stringify({ layout: 'international' }), latest_effective_time: '20250401', source_systems: [CODE_SYSTEMS.snomed], target_systems: [icd] },
      ]);
    });
  });

  it('UK Clinical Edition: X-padded undotted targets, #NC/#NIS, dagger/asterisk groups and OPCS-4', async () => {
    await withDb(async (db) => {
      const loaded = await registerMap(db, { file: ukMap(), name: 'uk-icd10', version: '41.0.0', origin: 'cli', now: NOW });
      expect(loaded).toMatchObject({ entries: 7, unclassifiable: 2 });
      expect(await lookup(db, CODE_SYSTEMS.icd10, 'G35')).toMatchObject([{ map_rule: 'reverse-unique', snomed_code: '24700007' }]);
      expect(await lookup(db, CODE_SYSTEMS.icd10, 'I10')).toMatchObject([{ map_rule: 'reverse-unique', snomed_code: '38341003' }]);
      expect(await lookup(db, CODE_SYSTEMS.icd10, 'A170')).toMatchObject([{ map_rule: 'reverse-unique', snomed_code: '58437007' }]);
      // The asterisk code is the concept's group 2: a candidate, never a strong one.
      expect(await lookup(db, CODE_SYSTEMS.icd10, 'G01')).toMatchObject([{ map_rule: 'reverse-ambiguous', snomed_code: null, candidates: ['58437007'] }]);
      expect(await lookup(db, CODE_SYSTEMS.opcs4, 'H011')).toMatchObject([{ map_rule: 'reverse-unique', snomed_code: '80146002' }]);
      const unclassifiable = await db.all(`SELECT source_key, comment, equivalence FROM terminology.map_entries WHERE target_code IS NULL ORDER BY source_key`);
      expect(unclassifiable).toEqual([
        { source_key: '1156040003', comment: '#NC', equivalence: 'unmatched' },
        { source_key: '162864005', comment: '#NIS', equivalence: 'unmatched' },
      ]);
      // No code key is ever '#NC': unclassifiable targets make no candidates.
      expect(Number(await db.scalar(`SELECT count(*) FROM terminology.code_lookup WHERE source_key LIKE '#%'`))).toBe(0);
    });
  });
});

describe('forward maps and precedence', () => {
  it('a CSV local map gives local; several equally good targets are ambiguous; unmatched rows are no targets', async () => {
    await withDb(async (db) => {
      const file = writeCsvMap(dir, 'lab.csv', [
        { system: LOCAL_LAB, code: 'HBA1C', display: 'HbA1c', target: '1019431000000105', targetDisplay: 'HbA1c level - IFCC standardised' },
        { system: LOCAL_LAB, code: 'LFT', display: 'Liver function', target: LFT_WIDER, targetDisplay: 'Liver function test', equivalence: 'wider' },
        { system: LOCAL_LAB, code: 'LFT', display: 'Liver function', target: '26958001', targetDisplay: 'Hepatic function panel', equivalence: 'equivalent' },
        { system: LOCAL_LAB, code: 'BONE', display: 'Bone profile', target: BONE_A, equivalence: 'relatedto' },
        { system: LOCAL_LAB, code: 'BONE', display: 'Bone profile', target: BONE_B, equivalence: 'relatedto' },
        { system: LOCAL_LAB, code: 'XXX', display: 'Research panel', equivalence: 'unmatched' },
        { system: 'icd10', code: 'J45.9', display: 'Asthma, unspecified', target: '195967001', targetDisplay: 'Asthma' },
      ]);
      await registerMap(db, { file, name: 'lab', version: '1', origin: 'cli', now: NOW });
      expect(await lookup(db, LOCAL_LAB, 'HBA1C')).toMatchObject([{ map_rule: 'local', snomed_code: '1019431000000105' }]);
      // The equivalent target beats the wider one.
      expect(await lookup(db, LOCAL_LAB, 'LFT')).toMatchObject([{ map_rule: 'local', snomed_code: '26958001', candidates: ['26958001', LFT_WIDER] }]);
      expect(await lookup(db, LOCAL_LAB, 'BONE')).toMatchObject([{ map_rule: 'ambiguous', snomed_code: null }]);
      expect(await lookup(db, LOCAL_LAB, 'XXX')).toEqual([]);
      // A standard system's short name is made canonical, and the code keyed.
      expect(await lookup(db, CODE_SYSTEMS.icd10, 'J459')).toMatchObject([{ map_rule: 'exact', snomed_code: '195967001' }]);
    });
  });

  it('a FHIR ConceptMap, and a map that settles a code is preferred over one that cannot', async () => {
    await withDb(async (db) => {
      await registerMap(db, { file: internationalMap(), name: 'int-icd10', version: '20250401', origin: 'cli', now: NOW });
      const conceptMap = writeConceptMap(dir, 'problems.json', {
        url: 'https://gp.example.nhs.uk/ConceptMap/problems',
        version: '3',
        group: [
          {
            source: LOCAL_PROBLEM,
            target: CODE_SYSTEMS.snomed,
            element: [
              { code: 'P-AST', display: 'Asthma', target: [{ code: '195967001', display: 'Asthma', equivalence: 'equivalent' }] },
              { code: 'P-OLD', display: 'Old problem', target: [{ equivalence: 'unmatched', comment: 'retired code' }] },
            ],
          },
          { source: CODE_SYSTEMS.icd10, target: CODE_SYSTEMS.snomed, element: [{ code: 'J45.9', target: [{ code: '195967001', equivalence: 'equivalent' }] }] },
        ],
      });
      await registerMap(db, { file: conceptMap, name: 'gp-problems', version: '3', origin: 'cli', now: NOW });
      expect(await lookup(db, LOCAL_PROBLEM, 'P-AST')).toMatchObject([{ map_rule: 'local', snomed_code: '195967001' }]);
      // The RF2 map came first but cannot settle J45.9; the ConceptMap can, so it is preferred.
      expect(await lookup(db, CODE_SYSTEMS.icd10, 'J459')).toMatchObject([
        { map_name: 'gp-problems', map_rule: 'exact', snomed_code: '195967001', is_preferred: true },
        { map_name: 'int-icd10', map_rule: 'reverse-ambiguous', snomed_code: null, is_preferred: false },
      ]);
      // Two maps that both settle: precedence (load order here) decides.
      expect(await lookup(db, CODE_SYSTEMS.icd10, 'I10')).toMatchObject([{ map_name: 'int-icd10', is_preferred: true }]);
      // The display of a reverse-lookup concept comes from any map that carries one.
      expect(await db.scalar(`SELECT snomed_display FROM terminology.code_lookup WHERE source_key = 'J459' AND map_name = 'gp-problems'`)).toBe('Asthma');
    });
  });
});

describe('loading', () => {
  it('is idempotent, refuses changed bytes under one version, and replaces a map with its new version', async () => {
    await withDb(async (db) => {
      const v1 = writeCsvMap(dir, 'v1.csv', [{ system: LOCAL_LAB, code: 'NA', target: '1000661000000107' }]);
      expect((await registerMap(db, { file: v1, name: 'lab', version: '1', origin: 'cli', now: NOW })).status).toBe('loaded');
      expect((await registerMap(db, { file: v1, name: 'lab', version: '1', origin: 'cli', now: NOW })).status).toBe('unchanged');
      expect(Number(await db.scalar(`SELECT count(*) FROM terminology.map_entries`))).toBe(1);

      writeFileSync(v1, 'source_system,source_code,source_display,target_code,target_display,equivalence\nx,K,,1000651000000109,,equivalent\n');
      const changed = await registerMap(db, { file: v1, name: 'lab', version: '1', origin: 'cli', now: NOW }).catch((e: unknown) => e);
      expect(changed).toBeInstanceOf(CarelakeError);
      expect((changed as CarelakeError).code).toBe('terminology.version-changed');

      const v2 = writeCsvMap(dir, 'v2.csv', [
        { system: LOCAL_LAB, code: 'K', target: '1000651000000109' },
        { system: LOCAL_LAB, code: 'UREA', target: '1001011000000107' },
      ]);
      const loaded = await registerMap(db, { file: v2, name: 'lab', version: '2', origin: 'cli', now: NOW });
      expect(loaded).toMatchObject({ status: 'loaded', entries: 2, replaced: '1' });
      expect(await db.all(`SELECT map_version, is_current, entries::INTEGER AS entries FROM terminology.maps ORDER BY map_version`)).toEqual([
        { map_version: '1', is_current: false, entries: 1 },
        { map_version: '2', is_current: true, entries: 2 },
      ]);
      expect(await db.all(`SELECT DISTINCT map_version FROM terminology.map_entries`)).toEqual([{ map_version: '2' }]);
      expect(await lookup(db, LOCAL_LAB, 'NA')).toEqual([]);

      expect(await removeMap(db, 'lab')).toBe(true);
      expect(Number(await db.scalar(`SELECT count(*) FROM terminology.code_lookup`))).toBe(0);
      expect(await removeMap(db, 'lab')).toBe(false);
    });
  });

  it('refuses a SNOMED CT code that is not a concept id, at its line', async () => {
    await withDb(async (db) => {
      const typo = writeCsvMap(dir, 'typo.csv', [
        { system: LOCAL_LAB, code: 'NA', target: '1000661000000107' },
        { system: LOCAL_LAB, code: 'K', target: '1000651000000190' },
      ]);
      const error = await registerMap(db, { file: typo, name: 'lab', version: '1', origin: 'cli', now: NOW }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'terminology.not-a-concept', location: { file: typo, line: 3, field: 'target_code' } });
    });
  });

  it('leaves the registry as it was when a file has a bad row', async () => {
    await withDb(async (db) => {
      const good = writeCsvMap(dir, 'good.csv', [{ system: LOCAL_LAB, code: 'NA', target: '1000661000000107' }]);
      await registerMap(db, { file: good, name: 'lab', version: '1', origin: 'cli', now: NOW });
      const bad = writeCsvMap(dir, 'bad.csv', [
        { system: LOCAL_LAB, code: 'K', target: '1000651000000109' },
        { system: LOCAL_LAB, code: 'CL', target: '1000641000000106', equivalence: 'same-ish' },
      ]);
      const error = await registerMap(db, { file: bad, name: 'lab', version: '2', origin: 'cli', now: NOW }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CarelakeError);
      expect((error as CarelakeError).location).toMatchObject({ file: bad, line: 3, field: 'equivalence' });
      expect(await db.all(`SELECT map_version, is_current FROM terminology.maps`)).toEqual([{ map_version: '1', is_current: true }]);
      expect(await lookup(db, LOCAL_LAB, 'NA')).toMatchObject([{ snomed_code: '1000661000000107' }]);
    });
  });
});

describe('translateCode', () => {
  it('finds a code in any ICD-10 form and says which rule applies', async () => {
    await withDb(async (db) => {
      await registerMap(db, { file: internationalMap(), name: 'int-icd10', version: '20250401', origin: 'cli', now: NOW });
      await registerMap(db, { file: ukMap(), name: 'uk-icd10', version: '41.0.0', origin: 'cli', now: NOW });
      for (const code of ['I10', 'I10X', 'i10', 'I10-']) {
        const t = await translateCode(db, { system: 'icd10', code });
        expect(t.result).toBe(true);
        expect(t.match.filter((m) => m.preferred)).toEqual([
          expect.objectContaining({ concept: { system: CODE_SYSTEMS.snomed, code: '38341003', display: null }, rule: 'reverse-unique', source: 'int-icd10|20250401' }),
        ]);
      }
      const onlyUk = await translateCode(db, { system: 'icd10', code: 'I10', map: 'uk-icd10' });
      expect(onlyUk.match.map((m) => m.source)).toEqual(['uk-icd10|41.0.0']);

      const dagger = await translateCode(db, { system: 'icd10', code: 'A170-D' });
      expect(dagger).toMatchObject({ key: 'A170', result: true });

      const ambiguous = await translateCode(db, { system: 'http://hl7.org/fhir/sid/icd-10', code: 'J45.9' });
      expect(ambiguous.result).toBe(false);
      expect(ambiguous.match.map((m) => [m.concept?.code, m.rule, m.preferred])).toEqual([
        ['195967001', 'reverse-ambiguous', false],
        ['233678006', 'reverse-ambiguous', false],
      ]);
      expect(ambiguous.message).toMatch(/2 candidate concepts/);

      const none = await translateCode(db, { system: 'icd10', code: 'R69' });
      expect(none).toMatchObject({ result: false, match: [] });
      expect((await translateCode(db, { system: 'icd10', code: 'not-a-code' })).message).toMatch(/is not a code of/);

      // A SNOMED CT code: itself, and where the RF2 maps send it (including "not classifiable").
      const snomed = await translateCode(db, { system: 'snomed', code: '1156040003' });
      expect(snomed.match.map((m) => [m.rule, m.concept?.code ?? null])).toEqual([
        ['exact', '1156040003'],
        ['unmapped', null],
      ]);
    });
  });
});

describe('map_to_snomed (macros/terminology.sql)', () => {
  it('keeps every fact and maps it by the rule its code calls for', async () => {
    await withDb(async (db) => {
      await registerMap(db, { file: internationalMap(), name: 'int-icd10', version: '20250401', origin: 'cli', now: NOW });
      await registerMap(db, { file: writeCsvMap(dir, 'lab2.csv', [{ system: LOCAL_LAB, code: 'HBA1C', target: '1019431000000105', targetDisplay: 'HbA1c level' }]), name: 'lab', version: '1', origin: 'cli', now: NOW });
      await db.run(`CREATE TABLE facts AS SELECT * FROM (VALUES
        (1, '44054006', 'Type 2 diabetes', 'http://hl7.org/fhir/sid/icd-10', 'E11.9', NULL),
        (2, NULL, NULL, 'http://hl7.org/fhir/sid/icd-10', 'I10X', 'Hypertension'),
        (3, NULL, NULL, 'http://hl7.org/fhir/sid/icd-10', 'j459', 'Asthma'),
        (4, NULL, NULL, '${LOCAL_LAB}', 'HBA1C', 'HbA1c'),
        (5, NULL, NULL, 'http://hl7.org/fhir/sid/icd-10', 'R69', 'Illness'),
        (6, NULL, NULL, NULL, NULL, NULL)
      ) t(id, sent_snomed_code, sent_snomed_display, map_system, map_code, map_display)`);
      const source = ({ positional }: { positional: unknown[] }) => `"${String(positional[0])}"."${String(positional[1])}"`;
      const rows = await db.all(
        `SELECT id, source_system, source_code, snomed_code, snomed_display, map_name, map_rule
         FROM (${renderWithProjectMacros("{{ map_to_snomed('facts') }}", 'map_to_snomed', { source })}) ORDER BY id`,
      );
      expect(rows).toEqual([
        { id: 1, source_system: CODE_SYSTEMS.snomed, source_code: '44054006', snomed_code: '44054006', snomed_display: 'Type 2 diabetes', map_name: null, map_rule: 'exact' },
        { id: 2, source_system: CODE_SYSTEMS.icd10, source_code: 'I10X', snomed_code: '38341003', snomed_display: null, map_name: 'int-icd10', map_rule: 'reverse-unique' },
        { id: 3, source_system: CODE_SYSTEMS.icd10, source_code: 'j459', snomed_code: null, snomed_display: null, map_name: 'int-icd10', map_rule: 'reverse-ambiguous' },
        { id: 4, source_system: LOCAL_LAB, source_code: 'HBA1C', snomed_code: '1019431000000105', snomed_display: 'HbA1c level', map_name: 'lab', map_rule: 'local' },
        { id: 5, source_system: CODE_SYSTEMS.icd10, source_code: 'R69', snomed_code: null, snomed_display: null, map_name: null, map_rule: 'unmapped' },
        { id: 6, source_system: null, source_code: null, snomed_code: null, snomed_display: null, map_name: null, map_rule: 'unmapped' },
      ]);
    });
  });
});
