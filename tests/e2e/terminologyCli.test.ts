// `carelake terminology load | translate | list | remove` through the real binary: a UK Clinical
// Edition RF2 map and a local CSV loaded by hand, translations printed as JSON, reloads that change
// nothing, and errors that name the file, line and field.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Translation } from '../../transforms/terminology/translate.ts';
import { carelakeCli } from '../support/carelakeCli.ts';
import { writeCsvMap, writeRf2 } from '../support/terminologyFiles.ts';

const LAB = 'https://lab.example.nhs.uk/CodeSystem/tests';

describe('carelake terminology', () => {
  let dir: string;
  let rf2: string;
  let csv: string;
  const cli = (...args: string[]) => carelakeCli(dir, args);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'carelake-terminology-cli-'));
    writeFileSync(join(dir, 'carelake.yml'), 'lake: ./lake\n');
    rf2 = writeRf2(dir, 'uk-clinical', [
      { concept: '38341003', target: 'I10X', rule: '', advice: '' },
      { concept: '195967001', target: 'J459', rule: '', advice: '' },
      { concept: '233678006', target: 'J459', rule: '', advice: '' },
      { concept: '1156040003', target: '#NC', rule: '', advice: '' },
    ]);
    csv = writeCsvMap(dir, 'lab.csv', [{ system: LAB, code: 'HBA1C', display: 'HbA1c', target: '1019431000000105', targetDisplay: 'HbA1c level - IFCC standardised' }]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says there are no maps before any is loaded', async () => {
    const outcome = await cli('terminology', 'translate', '--system', 'icd10', '--code', 'I10');
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/no code maps are registered/);
  });

  it('loads maps, translates codes in any form, lists and removes maps', async () => {
    const loaded = await cli('terminology', 'load', rf2, '--name', 'uk-icd10', '--version', '41.0.0');
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toMatch(/uk-icd10 41\.0\.0 \(der2_iisssciRefset_ExtendedMapUKCLSnapshot_GB1000000_20250401\.txt\): 4 entries from 4 rows, 1 not classifiable/);
    const again = await cli('terminology', 'load', rf2, '--name', 'uk-icd10', '--version', '41.0.0');
    expect(again.stdout).toMatch(/already loaded, 4 entries/);
    expect((await cli('terminology', 'load', csv, '--name', 'lab', '--version', '1')).code).toBe(0);

    const hypertension = JSON.parse((await cli('terminology', 'translate', '--system', 'icd10', '--code', 'I10X')).stdout) as Translation;
    expect(hypertension).toMatchObject({ system: 'http://hl7.org/fhir/sid/icd-10', code: 'I10X', key: 'I10', result: true });
    expect(hypertension.match).toEqual([
      expect.objectContaining({ equivalence: 'relatedto', concept: { system: 'http://snomed.info/sct', code: '38341003', display: null }, source: 'uk-icd10|41.0.0', rule: 'reverse-unique', preferred: true }),
    ]);

    const asthma = JSON.parse((await cli('terminology', 'translate', '--system', 'icd10', '--code', 'J45.9')).stdout) as Translation;
    expect(asthma.result).toBe(false);
    expect(asthma.match.map((m) => [m.concept?.code, m.rule])).toEqual([
      ['195967001', 'reverse-ambiguous'],
      ['233678006', 'reverse-ambiguous'],
    ]);

    const lab = JSON.parse((await cli('terminology', 'translate', '--system', LAB, '--code', 'HBA1C', '--map', 'lab')).stdout) as Translation;
    expect(lab.match).toEqual([expect.objectContaining({ rule: 'local', preferred: true, concept: expect.objectContaining({ code: '1019431000000105', display: 'HbA1c level - IFCC standardised' }) })]);

    const list = await cli('terminology', 'list');
    expect(list.stdout).toMatch(/uk-icd10\s+41\.0\.0\s+rf2\s+cli\s+0\s+4/);
    expect(list.stdout).toMatch(/lab\s+1\s+csv\s+cli\s+1\s+1/);

    expect((await cli('terminology', 'remove', 'lab')).code).toBe(0);
    expect(JSON.parse((await cli('terminology', 'translate', '--system', LAB, '--code', 'HBA1C')).stdout)).toMatchObject({ result: false, match: [] });
    const unknown = await cli('terminology', 'remove', 'lab');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no map named 'lab'/);
  });

  it('refuses a bad row naming the file, line and field, and a new release under an old version', async () => {
    const bad = writeCsvMap(dir, 'bad.csv', [
      { system: LAB, code: 'NA', target: '1000661000000107' },
      { system: LAB, code: 'K', target: '1000651000000109', equivalence: 'about-the-same' },
    ]);
    const outcome = await cli('terminology', 'load', bad, '--name', 'bad', '--version', '1');
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toContain(`${bad}:3`);
    expect(outcome.stderr).toMatch(/equivalence/);

    writeFileSync(rf2, `${'id\teffectiveTime'}\n`);
    const changed = await cli('terminology', 'load', rf2, '--name', 'uk-icd10', '--version', '41.0.0');
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/was loaded from a file with different contents/);
    expect((await cli('terminology', 'load', csv, '--name', 'lab', '--version', '1', '--format', 'xml')).stderr).toMatch(/--format must be rf2, conceptmap or csv/);
  });
});
