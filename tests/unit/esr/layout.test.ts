import { describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { esrGoV1Layout, parseEsrLayout } from '../../../pipelines/esr/layout.ts';

describe('the built-in esr-go-v1 layout', () => {
  const layout = esrGoV1Layout();
  const counts = [
    { description: 'ORA (organisation)', recordType: 'ORA', dataset: 'organisation', count: 15 },
    { description: 'POA (position)', recordType: 'POA', dataset: 'position', count: 24 },
    { description: 'PRA (person)', recordType: 'PRA', dataset: 'person', count: 44 },
    { description: 'ASA (assignment)', recordType: 'ASA', dataset: 'assignment', count: 50 },
    { description: 'COA (assignment costing)', recordType: 'COA', dataset: 'costing', count: 16 },
  ];
  it.each(counts)('gives $description the spec’s $count data fields', ({ recordType, dataset, count }) => {
    expect(layout.recordTypes[recordType]).toMatchObject({ dataset, action: 'upsert', assumed: false });
    expect(layout.recordTypes[recordType]!.columns).toHaveLength(count);
  });

  it.each(['LCA', 'PHA', 'ADA', 'VHA'])('marks %s as an assumed, configurable column list', (recordType) => {
    expect(layout.recordTypes[recordType]).toMatchObject({ action: 'upsert', assumed: true });
  });

  it.each(['ORD', 'POD', 'PRD', 'ASD', 'COD', 'LCD', 'PHD', 'ADD', 'VHD'])('gives delete record %s exactly one field, the id', (recordType) => {
    expect(layout.recordTypes[recordType]).toMatchObject({ action: 'delete' });
    expect(layout.recordTypes[recordType]!.columns).toHaveLength(1);
    expect(layout.recordTypes[recordType]!.columns[0]!.name).toMatch(/_id$/);
  });

  it('names the columns the curated layer needs', () => {
    const names = (recordType: string) => layout.recordTypes[recordType]!.columns.map((c) => c.name);
    expect(names('ASA')).toEqual(expect.arrayContaining(['job_name', 'fte', 'org_id', 'position_id']));
    expect(names('POA')).toEqual(expect.arrayContaining(['staff_group', 'job_role', 'occupation_code']));
    expect(names('PRA').slice(0, 4)).toEqual(['person_id', 'effective_start_date', 'effective_end_date', 'employee_number']);
  });

  it('types the fields the models compute with', () => {
    const typeOf = (recordType: string, name: string) => layout.recordTypes[recordType]!.columns.find((c) => c.name === name)?.type;
    expect([typeOf('ASA', 'fte'), typeOf('ASA', 'effective_start_date'), typeOf('ASA', 'last_update_at'), typeOf('ASA', 'job_name'), typeOf('PRA', 'employee_number')]).toEqual([
      'number',
      'date',
      'timestamp',
      'subfields',
      'text',
    ]);
  });
});

describe('parseEsrLayout', () => {
  const base = { id: 'trust-x', recordTypes: { PRA: { dataset: 'person', action: 'upsert', columns: ['person_id', 'spare_1'] } } };

  it('accepts a minimal Trust layout and defaults assumed to false', () => {
    expect(parseEsrLayout(base, 'trust-x.json').recordTypes['PRA']).toEqual({
      dataset: 'person',
      action: 'upsert',
      columns: [
        { name: 'person_id', type: 'text' },
        { name: 'spare_1', type: 'text' },
      ],
      assumed: false,
    });
  });

  it('reads typed columns and refuses an unknown type', () => {
    const typed = { id: 'x', recordTypes: { PRA: { dataset: 'person', action: 'upsert', columns: ['person_id', { name: 'hire_date', type: 'date' }] } } };
    expect(parseEsrLayout(typed, 'x.json').recordTypes['PRA']!.columns[1]).toEqual({ name: 'hire_date', type: 'date' });
    const bad = { id: 'x', recordTypes: { PRA: { dataset: 'person', action: 'upsert', columns: [{ name: 'hire_date', type: 'datetime' }] } } };
    expect(() => parseEsrLayout(bad, 'x.json')).toThrow(/recordTypes\.PRA\.columns\[0\]\.type/);
  });

  const invalid: { description: string; json: unknown; problems: string[] }[] = [
    { description: 'a record type with the wrong shape', json: { id: 'x', recordTypes: { PRAX: base.recordTypes.PRA } }, problems: ['recordTypes.PRAX'] },
    { description: 'a column that is not snake_case', json: { id: 'x', recordTypes: { PRA: { dataset: 'person', action: 'upsert', columns: ['person_id', 'LastName'] } } }, problems: ['recordTypes.PRA.columns[1]: column names must be snake_case'] },
    { description: 'a duplicate column', json: { id: 'x', recordTypes: { PRA: { dataset: 'person', action: 'upsert', columns: ['spare', 'spare'] } } }, problems: ["recordTypes.PRA.columns[1]: column 'spare' appears twice"] },
    { description: 'a delete record with two columns', json: { id: 'x', recordTypes: { PRD: { dataset: 'person', action: 'delete', columns: ['person_id', 'x'] } } }, problems: ['recordTypes.PRD.columns: delete records carry exactly one field'] },
    { description: 'an action that contradicts the record type', json: { id: 'x', recordTypes: { PRD: { dataset: 'person', action: 'upsert', columns: ['person_id'] } } }, problems: ["recordTypes.PRD.action: PRD ends in D, so its action must be 'delete'"] },
    { description: 'an unknown dataset', json: { id: 'x', recordTypes: { PRA: { dataset: 'people', action: 'upsert', columns: ['person_id'] } } }, problems: ['recordTypes.PRA.dataset'] },
    { description: 'an unknown key', json: { id: 'x', recordTypes: { PRA: { ...base.recordTypes.PRA, colums: [] } } }, problems: ['recordTypes.PRA'] },
    { description: 'redefining HDR', json: { id: 'x', recordTypes: { HDR: { dataset: 'person', action: 'upsert', columns: ['a'] } } }, problems: ['recordTypes.HDR'] },
    { description: 'no id', json: { recordTypes: {} }, problems: ['id'] },
    { description: 'not an object', json: 'PRA,ASA', problems: ['(root)'] },
    {
      description: 'several problems at once',
      json: { id: 'x', recordTypes: { PRA: { dataset: 'person', action: 'upsert', columns: ['Bad'] }, ASD: { dataset: 'assignment', action: 'delete', columns: ['a', 'b'] } } },
      problems: ['recordTypes.PRA.columns[0]', 'recordTypes.ASD.columns'],
    },
  ];
  it.each(invalid)('rejects $description, naming the key', ({ json, problems }) => {
    let caught: unknown;
    try {
      parseEsrLayout(json, 'layouts/trust-x.json');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CarelakeError);
    const error = caught as CarelakeError;
    expect(error.code).toBe('esr.bad-layout');
    expect(error.kind).toBe('config');
    expect(error.message).toContain('ESR layout layouts/trust-x.json is invalid');
    for (const problem of problems) expect(error.message).toContain(problem);
  });
});
