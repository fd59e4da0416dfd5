// `_typeFilter` re-applied on our side. Servers may ignore `_typeFilter` (it is optional for them), so
// carelake evaluates each filter itself, as DuckDB SQL over the resource JSON, and a resource that
// matches none of its type's filters is not landed (it is counted as filtered). Pure: filters in, SQL
// out.
//
// Only the search parameters below can be evaluated here. A filter using anything else — another
// parameter, a modifier, a chain — is refused when the source is read, never silently skipped. Dates
// compare on the ISO text at the precision given (time-zone offsets are not normalised).

import { CarelakeError } from '../../core/errors.ts';
import { quoteLiteral } from '../../core/sql.ts';

type ElementKind = 'code' | 'CodeableConcept' | 'CodeableConcept[]' | 'Coding' | 'Identifier[]' | 'id' | 'date';

interface SearchParameter {
  kind: ElementKind;
  /** JSON paths of the element; several = a choice type ([x]) or alternatives, any may match. */
  paths: string[];
}

const common: Record<string, SearchParameter> = {
  _id: { kind: 'id', paths: ['$.id'] },
  _lastUpdated: { kind: 'date', paths: ['$.meta.lastUpdated'] },
};

/** The FHIR R4 search parameters carelake can evaluate, by resource type. */
export const SEARCH_PARAMETERS: Record<string, Record<string, SearchParameter>> = {
  Patient: { gender: { kind: 'code', paths: ['$.gender'] }, birthdate: { kind: 'date', paths: ['$.birthDate'] }, identifier: { kind: 'Identifier[]', paths: ['$.identifier'] } },
  Observation: {
    code: { kind: 'CodeableConcept', paths: ['$.code'] },
    category: { kind: 'CodeableConcept[]', paths: ['$.category'] },
    status: { kind: 'code', paths: ['$.status'] },
    date: { kind: 'date', paths: ['$.effectiveDateTime', '$.effectivePeriod.start', '$.effectiveInstant'] },
  },
  Condition: {
    code: { kind: 'CodeableConcept', paths: ['$.code'] },
    category: { kind: 'CodeableConcept[]', paths: ['$.category'] },
    'clinical-status': { kind: 'CodeableConcept', paths: ['$.clinicalStatus'] },
    'verification-status': { kind: 'CodeableConcept', paths: ['$.verificationStatus'] },
    'onset-date': { kind: 'date', paths: ['$.onsetDateTime', '$.onsetPeriod.start'] },
    'recorded-date': { kind: 'date', paths: ['$.recordedDate'] },
  },
  Encounter: {
    status: { kind: 'code', paths: ['$.status'] },
    class: { kind: 'Coding', paths: ['$.class'] },
    type: { kind: 'CodeableConcept[]', paths: ['$.type'] },
    date: { kind: 'date', paths: ['$.period.start'] },
  },
  MedicationRequest: {
    status: { kind: 'code', paths: ['$.status'] },
    intent: { kind: 'code', paths: ['$.intent'] },
    code: { kind: 'CodeableConcept', paths: ['$.medicationCodeableConcept'] },
    authoredon: { kind: 'date', paths: ['$.authoredOn'] },
  },
  Immunization: { status: { kind: 'code', paths: ['$.status'] }, 'vaccine-code': { kind: 'CodeableConcept', paths: ['$.vaccineCode'] }, date: { kind: 'date', paths: ['$.occurrenceDateTime'] } },
  Procedure: { status: { kind: 'code', paths: ['$.status'] }, code: { kind: 'CodeableConcept', paths: ['$.code'] }, date: { kind: 'date', paths: ['$.performedDateTime', '$.performedPeriod.start'] } },
  AllergyIntolerance: { 'clinical-status': { kind: 'CodeableConcept', paths: ['$.clinicalStatus'] }, code: { kind: 'CodeableConcept', paths: ['$.code'] } },
  DiagnosticReport: {
    status: { kind: 'code', paths: ['$.status'] },
    code: { kind: 'CodeableConcept', paths: ['$.code'] },
    category: { kind: 'CodeableConcept[]', paths: ['$.category'] },
    date: { kind: 'date', paths: ['$.effectiveDateTime', '$.effectivePeriod.start'] },
  },
};

const DATE_VALUE = /^(eq|ne|gt|lt|ge|le)?(\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?)$/;

/**
 * One SQL predicate per resource type (the OR of that type's filters), over the JSON text column
 * `column`. Throws a config error naming the filter when any part cannot be evaluated here.
 */
export function typeFilterPredicates(filters: readonly string[], column: string): Map<string, string> {
  const byType = new Map<string, string[]>();
  for (const filter of filters) {
    const [type, predicate] = filterPredicate(filter, column);
    byType.set(type, [...(byType.get(type) ?? []), predicate]);
  }
  return new Map([...byType].map(([type, predicates]) => [type, predicates.length === 1 ? predicates[0]! : `(${predicates.join(' OR ')})`]));
}

function filterPredicate(filter: string, column: string): [string, string] {
  const match = /^([A-Z][A-Za-z]+)\?(.+)$/.exec(filter.trim());
  if (!match) throw filterError(filter, 'expected `ResourceType?param=value[&param=value]`');
  const type = match[1]!;
  const params = SEARCH_PARAMETERS[type];
  const terms: string[] = [];
  for (const pair of match[2]!.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw filterError(filter, `'${pair}' is not param=value`);
    const name = decodeURIComponent(pair.slice(0, eq));
    const raw = decodeURIComponent(pair.slice(eq + 1));
    if (/[:.]/.test(name)) throw filterError(filter, `modifiers and chained parameters ('${name}') cannot be re-applied by carelake`);
    const param = common[name] ?? params?.[name];
    if (!param) throw filterError(filter, `carelake cannot re-apply search parameter '${name}' on ${type}; it knows ${Object.keys({ ...common, ...(params ?? {}) }).join(', ')}`);
    const values = raw.split(',').map((v) => valuePredicate(param, v, column, filter));
    terms.push(values.length === 1 ? values[0]! : `(${values.join(' OR ')})`);
  }
  return [type, terms.length === 1 ? terms[0]! : `(${terms.join(' AND ')})`];
}

function valuePredicate(param: SearchParameter, value: string, column: string, filter: string): string {
  const any = (f: (path: string) => string) => (param.paths.length === 1 ? f(param.paths[0]!) : `(${param.paths.map(f).join(' OR ')})`);
  if (param.kind === 'date') {
    const m = DATE_VALUE.exec(value);
    if (!m) throw filterError(filter, `'${value}' is not a FHIR date search value`);
    const prefix = m[1] ?? 'eq';
    const date = m[2]!;
    const op = { eq: '=', ne: '<>', gt: '>', lt: '<', ge: '>=', le: '<=' }[prefix];
    return any((p) => `coalesce(left(json_extract_string(${column}, ${quoteLiteral(p)}), ${date.length}) ${op} ${quoteLiteral(date)}, false)`);
  }
  if (param.kind === 'code' || param.kind === 'id') {
    const code = value.includes('|') ? value.slice(value.indexOf('|') + 1) : value;
    return any((p) => `coalesce(json_extract_string(${column}, ${quoteLiteral(p)}) = ${quoteLiteral(code)}, false)`);
  }
  // Tokens on codings and identifiers: code, system|code, |code (no system) or system| (any code).
  const bar = value.indexOf('|');
  const system = bar === -1 ? undefined : value.slice(0, bar);
  const code = bar === -1 ? value : value.slice(bar + 1);
  const codeField = param.kind === 'Identifier[]' ? 'value' : 'code';
  const conditions = [
    code === '' ? null : `json_extract_string(x, '$.${codeField}') = ${quoteLiteral(code)}`,
    system === undefined ? null : system === '' ? `json_extract_string(x, '$.system') IS NULL` : `json_extract_string(x, '$.system') = ${quoteLiteral(system)}`,
  ].filter((c): c is string => c !== null);
  if (conditions.length === 0) throw filterError(filter, `'${value}' is an empty token`);
  const elements = (p: string) =>
    param.kind === 'Coding' ? `[json_extract(${column}, ${quoteLiteral(p)})]` : param.kind === 'CodeableConcept' ? `json_extract(${column}, ${quoteLiteral(`${p}.coding[*]`)})` : param.kind === 'CodeableConcept[]' ? `json_extract(${column}, ${quoteLiteral(`${p}[*].coding[*]`)})` : `json_extract(${column}, ${quoteLiteral(`${p}[*]`)})`;
  return any((p) => `coalesce(len(list_filter(${elements(p)}, x -> x IS NOT NULL AND ${conditions.join(' AND ')})) > 0, false)`);
}

function filterError(filter: string, why: string): CarelakeError {
  return new CarelakeError({ code: 'fhir-bulk.type-filter', kind: 'config', message: `The _typeFilter '${filter}' cannot be used: ${why}`, location: { source: 'config', recordKey: 'typeFilter' } });
}
