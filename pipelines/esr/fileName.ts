// ESR GO file names: `GO_<VPD>_<SUB>_GO<F|C>_<YYYYMMDD>_<seq8>.DAT`. The name carries the Trust (VPD),
// whether the file is a full extract or changes only, and the sequence number whose gaps and repeats
// the ledger checks — so a name that does not parse is refused before any content is read.

import { CarelakeError } from '../../core/errors.ts';
import { parseEsrDate } from './dates.ts';

export interface EsrGoFileName {
  /** The Trust's ESR VPD number, as text (leading zeros kept). */
  vpd: string;
  /** The interface subscription code (e.g. EXP). */
  sub: string;
  extract: 'full' | 'changes';
  /** ISO date, e.g. 2012-11-13. */
  date: string;
  /** Increases by one per file. */
  sequence: number;
}

const PATTERN = /^GO_([A-Za-z0-9]+)_([A-Za-z0-9]+)_GO([FCfc])_(\d{8})_(\d{8})\.DAT$/i;
const EXAMPLE = 'GO_431_EXP_GOF_20121113_00000001.DAT';

function badName(name: string, why: string): CarelakeError {
  return new CarelakeError({
    code: 'esr.bad-file-name',
    kind: 'parse',
    message: `'${name}' is not an ESR GO file name: ${why}`,
    location: { file: name },
    hint: `expected GO_<VPD>_<SUB>_GO<F|C>_<YYYYMMDD>_<8-digit sequence>.DAT, e.g. ${EXAMPLE}`,
  });
}

/** Parses a GO file name; a leading directory is ignored. */
export function parseEsrGoFileName(name: string): EsrGoFileName {
  const base = name.split(/[\\/]/).pop() ?? name;
  const match = PATTERN.exec(base);
  if (!match) throw badName(base, 'it does not follow the GO naming pattern');
  const [, vpd = '', sub = '', kind = '', date = '', sequence = ''] = match;
  let isoDate: string | null;
  try {
    isoDate = parseEsrDate(date);
  } catch {
    isoDate = null;
  }
  if (isoDate === null) throw badName(base, 'its date part is not a real yyyyMMdd date');
  return {
    vpd,
    sub: sub.toUpperCase(),
    extract: kind.toUpperCase() === 'F' ? 'full' : 'changes',
    date: isoDate,
    sequence: Number(sequence),
  };
}
