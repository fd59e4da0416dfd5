// Map files for terminology tests, written from a few fields per row: RF2 extended maps in both
// layouts (International with mapCategoryId, UK Clinical Edition with mapBlock), FHIR ConceptMaps and
// local CSV maps.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { CarelakeError } from '../../core/errors.ts';
import type { MapEntry, MapFile } from '../../transforms/terminology/mapEntry.ts';
import { RF2_COLUMNS } from '../../transforms/terminology/rf2ExtendedMap.ts';

export type Rf2Layout = keyof typeof RF2_COLUMNS;

export interface Rf2Row {
  /** The row's UUID; default: one per row number. */
  id?: string;
  effectiveTime?: string;
  active?: boolean;
  concept: string;
  target: string;
  group?: number;
  priority?: number;
  rule?: string;
  advice?: string;
  correlation?: string;
  block?: number;
  refset?: string;
}

let idCounter = 0;

/** A fresh RF2 row id (a version-4 UUID shape). */
export function rf2Id(): string {
  idCounter++;
  return `00000000-0000-4000-8000-${idCounter.toString(16).padStart(12, '0')}`;
}

export function rf2Text(layout: Rf2Layout, rows: readonly Rf2Row[]): string {
  const uk = layout === 'uk-clinical';
  const lines = rows.map((r) => {
    const fields: Record<string, string> = {
      id: r.id ?? rf2Id(),
      effectiveTime: r.effectiveTime ?? '20250401',
      active: r.active === false ? '0' : '1',
      moduleId: uk ? '999000031000000106' : '449080006',
      refsetId: r.refset ?? (uk ? '999002271000000101' : '447562003'),
      referencedComponentId: r.concept,
      mapGroup: String(r.group ?? 1),
      mapPriority: String(r.priority ?? 1),
      mapRule: r.rule ?? 'TRUE',
      mapAdvice: r.advice ?? (r.target === '' ? '' : `ALWAYS ${r.target}`),
      mapTarget: r.target,
      correlationId: r.correlation ?? '447561005',
      mapCategoryId: '447637006',
      mapBlock: String(r.block ?? 1),
    };
    return RF2_COLUMNS[layout].map((c) => fields[c]).join('\t');
  });
  return [RF2_COLUMNS[layout].join('\t'), ...lines].join('\r\n') + '\r\n';
}

export function writeRf2(dir: string, layout: Rf2Layout, rows: readonly Rf2Row[], name?: string): string {
  const file = join(dir, name ?? (layout === 'uk-clinical' ? 'der2_iisssciRefset_ExtendedMapUKCLSnapshot_GB1000000_20250401.txt' : 'der2_iisssccRefset_ExtendedMapSnapshot_INT_20250401.txt'));
  writeFileSync(file, rf2Text(layout, rows));
  return file;
}

export interface CsvMapRow {
  system: string;
  code: string;
  display?: string;
  target?: string;
  targetDisplay?: string;
  equivalence?: string;
}

export function writeCsvMap(dir: string, name: string, rows: readonly CsvMapRow[]): string {
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = rows.map((r) => [r.system, r.code, r.display ?? '', r.target ?? '', r.targetDisplay ?? '', r.equivalence ?? 'equivalent'].map(quote).join(','));
  const file = join(dir, name);
  writeFileSync(file, ['source_system,source_code,source_display,target_code,target_display,equivalence', ...lines].join('\n') + '\n');
  return file;
}

export function writeConceptMap(dir: string, name: string, conceptMap: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ resourceType: 'ConceptMap', status: 'active', ...conceptMap }, null, 2));
  return file;
}

/** Every entry of a map file, read to the end. */
export async function readEntries(opened: Promise<MapFile>): Promise<MapEntry[]> {
  const map = await opened;
  const entries: MapEntry[] = [];
  for await (const entry of map.entries()) entries.push(entry);
  return entries;
}

/** The CarelakeError a promise rejects with; fails the test if it resolves or throws anything else. */
export async function carelakeFailure(promise: Promise<unknown>): Promise<CarelakeError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CarelakeError);
    return err as CarelakeError;
  }
  throw new Error('expected a CarelakeError');
}
