// Invalid ViewDefinitions are rejected at compile time, before any SQL runs, with one CarelakeError
// (kind compile, code sof.invalid_view) whose message names the file, the JSON path in the view and why.

import { describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { compileViewDefinition } from '../../../transforms/sqlOnFhir/compileView.ts';

const column = (name: string, path: string) => ({ name, path });
const patientView = (extra: Record<string, unknown>) => ({ resource: 'Patient', select: [{ column: [column('id', 'id')] }], ...extra });

const cases: { description: string; view: unknown; path: string; reason: RegExp }[] = [
  { description: 'a view that is not an object', view: [], path: 'the view', reason: /must be a JSON object/ },
  { description: 'an empty view', view: {}, path: 'resource', reason: /is required/ },
  { description: 'a view without a resource', view: { select: [{ column: [column('id', 'id')] }] }, path: 'resource', reason: /is required/ },
  { description: 'an unknown resource type', view: patientView({ resource: 'Patiant' }), path: 'resource', reason: /not a FHIR R4 resource type/ },
  { description: 'a view without selects', view: { resource: 'Patient', select: [] }, path: 'select', reason: /at least one select/ },
  { description: 'an unknown key in a select', view: { resource: 'Patient', select: [{ forEvery: 'name', column: [column('id', 'id')] }] }, path: 'select[0]', reason: /forEvery/ },
  { description: 'a forEach that is not a string', view: { resource: 'Patient', select: [{ forEach: 1, column: [column('id', 'id')] }] }, path: 'select[0].forEach', reason: /string/ },
  {
    description: 'two iteration kinds in one select',
    view: { resource: 'Patient', select: [{ forEach: 'name', forEachOrNull: 'name', column: [column('f', 'family')] }] },
    path: 'select[0]',
    reason: /only one of forEach, forEachOrNull and repeat/,
  },
  { description: 'a select with nothing to output', view: { resource: 'Patient', select: [{ forEach: 'name' }] }, path: 'select[0]', reason: /at least one column, select or unionAll/ },
  { description: 'a column name that is not SQL-friendly', view: { resource: 'Patient', select: [{ column: [column('1st', 'id')] }] }, path: 'select[0].column[0].name', reason: /start with a letter/ },
  {
    description: 'a duplicate column name',
    view: { resource: 'Patient', select: [{ column: [column('id', 'id')] }, { column: [column('id', 'gender')] }] },
    path: 'select[1].column[0]',
    reason: /'id' is already used at select\[0\]\.column\[0\]/,
  },
  {
    description: 'unionAll branches with different columns',
    view: { resource: 'Patient', select: [{ unionAll: [{ column: [column('a', 'id'), column('b', 'id')] }, { column: [column('a', 'id'), column('c', 'id')] }] }] },
    path: 'select[0].unionAll[1]',
    reason: /same columns in the same order: \[a, b\] vs \[a, c\]/,
  },
  {
    description: 'unionAll branches with columns in another order',
    view: { resource: 'Patient', select: [{ unionAll: [{ column: [column('a', 'id'), column('b', 'id')] }, { column: [column('b', 'id'), column('a', 'id')] }] }] },
    path: 'select[0].unionAll[1]',
    reason: /same columns in the same order/,
  },
  { description: 'a where that is not boolean', view: patientView({ where: [{ path: 'name.family' }] }), path: 'where[0].path', reason: /must be true or false .* but it is string/ },
  { description: 'invalid FHIRPath', view: { resource: 'Patient', select: [{ forEach: '@@', column: [column('id', 'id')] }] }, path: 'select[0].forEach', reason: /'@@' is not valid FHIRPath: .* \(at character 1\)/ },
  { description: 'an unknown function', view: { resource: 'Patient', select: [{ column: [column('x', 'name.frobnicate()')] }] }, path: 'select[0].column[0].path', reason: /unknown or unsupported function frobnicate\(\)/ },
  { description: 'an unknown element', view: { resource: 'Patient', select: [{ column: [column('x', 'nmae.family')] }] }, path: 'select[0].column[0].path', reason: /Patient has no element 'nmae'/ },
  { description: 'a choice element without ofType', view: { resource: 'Observation', select: [{ column: [column('x', 'value')] }] }, path: 'select[0].column[0].path', reason: /choice element .* value\.ofType/ },
  { description: 'comparing text with a number', view: patientView({ where: [{ path: "gender = 1" }] }), path: 'where[0].path', reason: /cannot compare code with integer/ },
  { description: 'a constant without a value', view: patientView({ constant: [{ name: 'use' }] }), path: 'constant[0]', reason: /has no value/ },
  { description: 'a complex constant', view: patientView({ constant: [{ name: 'q', valueQuantity: { value: 1 } }] }), path: 'constant[0].valueQuantity', reason: /not supported/ },
  { description: 'a constant of the wrong JSON type', view: patientView({ constant: [{ name: 'n', valueInteger: '1' }] }), path: 'constant[0].valueInteger', reason: /must be a JSON integer/ },
  {
    description: 'an undefined constant',
    view: { resource: 'Patient', select: [{ forEach: 'name.where(use = %nope)', column: [column('f', 'family')] }] },
    path: 'select[0].forEach',
    reason: /%nope is not defined/,
  },
  { description: 'where() with a non-boolean condition', view: { resource: 'Patient', select: [{ column: [column('f', 'name.where(family).given')] }] }, path: 'select[0].column[0].path', reason: /where\(\) needs a true\/false condition/ },
  { description: 'getReferenceKey() on a non-reference', view: { resource: 'Patient', select: [{ column: [column('k', 'name.getReferenceKey()')] }] }, path: 'select[0].column[0].path', reason: /works on a Reference, not HumanName/ },
];

function compileError(view: unknown, file?: string): CarelakeError {
  try {
    compileViewDefinition(view, { from: 'resources', mode: 'json', file });
  } catch (err) {
    if (err instanceof CarelakeError) return err;
    throw err;
  }
  throw new Error('the view compiled');
}

describe('compileViewDefinition rejects invalid views', () => {
  it.each(cases)('$description', ({ view, path, reason }) => {
    const error = compileError(view);
    expect(error.code).toBe('sof.invalid_view');
    expect(error.kind).toBe('compile');
    expect(error.message).toContain(`${path}: `);
    expect(error.message).toMatch(reason);
  });

  it('names the file in the message and the location', () => {
    const error = compileError(patientView({ where: [{ path: 'name.family' }] }), 'views/patient.json');
    expect(error.message).toMatch(/^ViewDefinition views\/patient\.json is invalid: where\[0\]\.path: /);
    expect(error.location).toEqual({ file: 'views/patient.json', field: 'where[0].path' });
  });

  it('reports every structural problem at once', () => {
    const error = compileError({ resource: 'Patiant', select: [{ column: [column('id', 'id')] }, { column: [column('id', 'id')] }] });
    expect(error.message).toContain('resource: ');
    expect(error.message).toContain('select[1].column[0]: ');
  });
});
