// The one door to the map readers: opens a map file in the format the caller names, or the one its
// name and (for RF2) its header show, so `carelake terminology load <file>` usually needs no --format.
// Detection is deliberately narrow — `.json` ConceptMap, `.csv` local map, `.txt`/`.tsv` only when the
// first line is an RF2 extended map header — and anything else asks for --format rather than guessing.

import { access } from 'node:fs/promises';
import { extname } from 'node:path';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { openConceptMap } from './conceptMap.ts';
import { openCsvCodeMap } from './csvCodeMap.ts';
import type { MapFile, MapFormat } from './mapEntry.ts';
import { openRf2ExtendedMap } from './rf2ExtendedMap.ts';

const OPENERS: Readonly<Record<MapFormat, (file: string) => Promise<MapFile>>> = {
  rf2: openRf2ExtendedMap,
  conceptmap: openConceptMap,
  csv: openCsvCodeMap,
};

const SUPPORTED =
  'supported: an RF2 extended map (.txt or .tsv with an RF2 header), a FHIR ConceptMap (.json), a local code map (.csv)';

/** Opens a map file in the given format, or in the one detected from its extension (and RF2 header). */
export async function openMapFile(file: string, format?: MapFormat): Promise<MapFile> {
  try {
    await access(file);
  } catch (err) {
    throw fileSystemError('read', file, err);
  }
  if (format !== undefined) return OPENERS[format](file);
  const extension = extname(file).toLowerCase();
  if (extension === '.json') return openConceptMap(file);
  if (extension === '.csv') return openCsvCodeMap(file);
  if (extension === '.txt' || extension === '.tsv') {
    try {
      return await openRf2ExtendedMap(file);
    } catch (err) {
      if (err instanceof CarelakeError && err.code === 'terminology.rf2-header') {
        throw formatError(file, `${extension} file whose first line is not an RF2 extended map header`, err);
      }
      throw err;
    }
  }
  throw formatError(file, extension === '' ? 'file with no extension' : `${extension} file`);
}

function formatError(file: string, what: string, cause?: unknown): CarelakeError {
  return new CarelakeError({
    code: 'terminology.format',
    kind: 'config',
    message: `Cannot tell which map format this is: a ${what} (${SUPPORTED})`,
    location: { file },
    hint: 'name the format with --format rf2|conceptmap|csv',
    cause,
  });
}
