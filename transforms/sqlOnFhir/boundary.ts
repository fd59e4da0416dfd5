// FHIRPath lowBoundary() / highBoundary() (experimental in SQL on FHIR): the least and greatest value a
// decimal, date, dateTime or time of its precision could stand for — 1.0 → 0.95 / 1.05, 1970-06 →
// 1970-06-01 / 1970-06-30, a date-only dateTime spans +14:00 to -12:00. Decimals are held as DOUBLE, so
// their precision is the digits of the shortest text form (1.50 reads as 1.5). Pure.

import { primitiveFamily, primitiveSqlType } from './fhirModel.ts';
import { FhirPathCompileError, primitive, type SqlValue } from './sqlValue.ts';

export type Boundary = 'low' | 'high';

export function boundarySql(value: SqlValue, boundary: Boundary, at: number): SqlValue {
  const s = value.sql;
  if (primitiveSqlType(value.type) === 'DOUBLE' || value.type === 'integer') {
    const text = `CAST(${s} AS VARCHAR)`;
    const digits = `CAST(CASE WHEN contains(${text}, '.') THEN length(split_part(${text}, '.', 2)) ELSE 0 END AS INTEGER)`;
    const sign = boundary === 'low' ? '-' : '+';
    return primitive(`round(${s} ${sign} 0.5 * pow(10, -(${digits})), ${digits} + 1)`, 'decimal');
  }
  if (value.type === 'date') return primitive(dateBoundary(s, boundary), 'date');
  if (value.type === 'dateTime' || value.type === 'instant') return primitive(dateTimeBoundary(s, boundary), value.type);
  if (value.type === 'time') return primitive(timeBoundary(s, boundary), 'time');
  const family = primitiveFamily(value.type) ?? value.type;
  throw new FhirPathCompileError(`${boundary}Boundary() works on decimals, dates, dateTimes and times, not ${family}`, at);
}

/** `YYYY`, `YYYY-MM` or `YYYY-MM-DD` widened to a whole date. */
function dateBoundary(s: string, boundary: Boundary): string {
  if (boundary === 'low') return `CASE length(${s}) WHEN 4 THEN ${s} || '-01-01' WHEN 7 THEN ${s} || '-01' ELSE left(${s}, 10) END`;
  return `CASE length(${s}) WHEN 4 THEN ${s} || '-12-31' WHEN 7 THEN CAST(last_day(CAST(${s} || '-01' AS DATE)) AS VARCHAR) ELSE left(${s}, 10) END`;
}

/** `hh`, `hh:mm`, `hh:mm:ss` or `hh:mm:ss.f…` widened to milliseconds. */
function clockBoundary(clock: string, boundary: Boundary): string {
  const [minute, second, fill] = boundary === 'low' ? ['00', '00', '0'] : ['59', '59', '9'];
  const whole = `CASE length(split_part(${clock}, '.', 1)) WHEN 2 THEN split_part(${clock}, '.', 1) || ':${minute}:${second}' WHEN 5 THEN split_part(${clock}, '.', 1) || ':${second}' ELSE split_part(${clock}, '.', 1) END`;
  const fraction = `rpad(left(split_part(${clock}, '.', 2), 3), 3, '${fill}')`;
  return `${whole} || '.' || ${fraction}`;
}

function timeBoundary(s: string, boundary: Boundary): string {
  return clockBoundary(s, boundary);
}

function dateTimeBoundary(s: string, boundary: Boundary): string {
  const widestZone = boundary === 'low' ? "'+14:00'" : "'-12:00'";
  const dateOnly = `${dateBoundary(`split_part(${s}, 'T', 1)`, boundary)} || 'T' || ${boundary === 'low' ? "'00:00:00.000'" : "'23:59:59.999'"} || ${widestZone}`;
  const zone = `regexp_extract(${s}, '(Z|[+-][0-9]{2}:[0-9]{2})$', 1)`;
  const clock = `regexp_extract(split_part(${s}, 'T', 2), '^[0-9:.]+', 0)`;
  const withTime = `split_part(${s}, 'T', 1) || 'T' || ${clockBoundary(clock, boundary)} || coalesce(NULLIF(${zone}, ''), ${widestZone})`;
  return `CASE WHEN contains(${s}, 'T') THEN ${withTime} ELSE ${dateOnly} END`;
}
