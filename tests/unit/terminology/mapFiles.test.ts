import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openMapFile } from '../../../transforms/terminology/mapFiles.ts';
import { RF2_COLUMNS } from '../../../transforms/terminology/rf2ExtendedMap.ts';
import { carelakeFailure } from '../../support/terminologyFiles.ts';

const dir = mkdtempSync(join(tmpdir(), 'carelake-mapfiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const RF2 = `${RF2_COLUMNS['uk-clinical'].join('\t')}\r\n00000000-0000-4000-8000-000000000001\t20250101\t1\t999000031000000106\t999002271000000101\t22298006\t1\t1\t\t\tI219\t447561005\t1\r\n`;
const CONCEPT_MAP = JSON.stringify({ resourceType: 'ConceptMap', group: [{ source: 'local', target: 'sct', element: [{ code: 'A', target: [{ code: '1', equivalence: 'equal' }] }] }] });
const CSV = 'source_system,source_code,source_display,target_code,target_display,equivalence\nlocal,A,,1,,equal\n';

describe('openMapFile', () => {
  it('detects the format from the extension, and RF2 from its header', async () => {
    expect((await openMapFile(write('map.json', CONCEPT_MAP))).format).toBe('conceptmap');
    expect((await openMapFile(write('map.CSV', CSV))).format).toBe('csv');
    const rf2 = await openMapFile(write('der2_iisssciRefset_ExtendedMapUKCLSnapshot_GB1000000_20250101.txt', RF2));
    expect(rf2.format).toBe('rf2');
    expect(rf2.facts).toEqual({ layout: 'uk-clinical' });
    expect((await openMapFile(write('map.tsv', RF2))).format).toBe('rf2');
  });

  it('uses the format given, whatever the name', async () => {
    expect((await openMapFile(write('local-map.dat', CSV), 'csv')).format).toBe('csv');
    expect((await openMapFile(write('cm.fhir', CONCEPT_MAP), 'conceptmap')).format).toBe('conceptmap');
    expect((await openMapFile(write('extended-map', RF2), 'rf2')).format).toBe('rf2');
  });

  it('asks for --format for a .txt that is not RF2, or an unknown extension', async () => {
    const txt = write('notes.txt', 'source,target\nA,B\n');
    const err = await carelakeFailure(openMapFile(txt));
    expect(err.code).toBe('terminology.format');
    expect(err.kind).toBe('config');
    expect(err.location).toEqual({ file: txt });
    expect(err.message).toContain('not an RF2 extended map header');
    expect(err.message).toContain('.json');
    expect(err.hint).toContain('--format rf2|conceptmap|csv');

    const xml = write('map.xml', '<ConceptMap/>');
    const xmlErr = await carelakeFailure(openMapFile(xml));
    expect(xmlErr.code).toBe('terminology.format');
    expect(xmlErr.message).toContain('.xml file');
    expect((await carelakeFailure(openMapFile(write('noextension', CSV)))).message).toContain('no extension');
  });

  it('passes on the reader’s own errors when the format is given', async () => {
    const err = await carelakeFailure(openMapFile(write('bad.txt', 'not a header\n'), 'rf2'));
    expect(err.code).toBe('terminology.rf2-header');
  });

  it('reports a missing file as a filesystem error, with or without a format', async () => {
    expect((await carelakeFailure(openMapFile(join(dir, 'missing.json')))).code).toBe('fs.enoent');
    expect((await carelakeFailure(openMapFile(join(dir, 'missing.csv'), 'csv'))).code).toBe('fs.enoent');
    expect((await carelakeFailure(openMapFile(join(dir, 'missing.dat')))).code).toBe('fs.enoent');
  });
});
