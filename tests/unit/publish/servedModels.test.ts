import { describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import type { Manifest, ManifestNode } from '../../../transforms/models/manifest.ts';
import { servedModels } from '../../../warehouse/publish/servedModels.ts';

const asOf = new Date('2026-11-21T00:00:00Z');

function model(name: string, meta: Record<string, unknown>, columns: [string, string, Record<string, unknown>?][]): ManifestNode {
  return {
    name,
    resource_type: 'model',
    meta,
    description: '',
    patch_path: 'carelake://models/x.yml',
    original_file_path: `models/${name}.sql`,
    relation_name: `"main_curated"."${name}"`,
    columns: Object.fromEntries(columns.map(([c, description, columnMeta]) => [c, { name: c, description, meta: columnMeta ?? {} }])),
  } as unknown as ManifestNode;
}

const manifestOf = (...nodes: ManifestNode[]) => ({ nodes: Object.fromEntries(nodes.map((n) => [`model.carelake.${n.name}`, n])) }) as unknown as Manifest;

function problems(manifest: Manifest): string {
  try {
    servedModels(manifest, { asOf });
  } catch (err) {
    if (err instanceof CarelakeError) return err.message;
    throw err;
  }
  return '';
}

describe('serving declared on models', () => {
  it('serves documented columns only: tokens, year of birth with age band, postcode district; withheld columns left out', () => {
    const served = servedModels(
      manifestOf(
        model('person', { serve: 'analyst' }, [
          ['person_id', 'The person.', { serve: { token: 'person' } }],
          ['birth_date', 'Minimised.', { serve: 'year_of_birth' }],
          ['postcode', 'Minimised.', { serve: 'postcode_district' }],
          ['sex', 'Sex.'],
          ['given_name', '', { serve: false }],
        ]),
        model('internal', {}, [['x', 'Not served.']]),
      ),
      { asOf },
    );
    expect(served.commissioner).toEqual([]);
    expect(served.analyst).toHaveLength(1);
    const [person] = served.analyst;
    expect(person!.tokens).toEqual([{ column: 'person_token', from: 'person_id', kind: 'person' }]);
    expect(person!.sql).toContain('AS year_of_birth');
    expect(person!.sql).toContain("DATE '2026-11-21'");
    expect(person!.sql).toContain('AS postcode_district');
    expect(person!.sql).not.toContain('given_name');
  });

  it('makes commissioner models aggregates with their counts, measures, rates and totals', () => {
    const served = servedModels(
      manifestOf(
        model('agg', { serve: 'commissioner', totals_over: 'practice', rates: [{ name: 'per_1000', numerator: 'n', denominator: 'registered', per: 1000 }] }, [
          ['practice', 'Practice.'],
          ['n', 'People.', { disclosure: 'count' }],
          ['registered', 'Registered.', { disclosure: 'count' }],
          ['mean_age', 'Mean age.', { disclosure: 'measure', of: 'n' }],
        ]),
      ),
      { asOf },
    );
    expect(served.commissioner[0]!.aggregate).toEqual({
      dimensions: ['practice'],
      declaredDimensions: [],
      counts: ['n', 'registered'],
      measures: [{ column: 'mean_age', of: 'n', additive: false }],
      rates: [{ column: 'per_1000', numerator: 'n', denominator: 'registered', per: 1000 }],
      totalsOver: 'practice',
    });
  });

  it('refuses, all at once and naming model and column: an undescribed served column, an unknown serve value or kind, a commissioner model without counts, a bad rate', () => {
    const message = problems(
      manifestOf(
        model('a', { serve: 'analyst' }, [
          ['undescribed', ''],
          ['odd', 'Odd.', { serve: 'full_postcode' }],
          ['kind', 'Kind.', { serve: { token: 'passport' } }],
        ]),
        model('b', { serve: 'commissioner', rates: [{ name: 'r', numerator: 'x', denominator: 'y' }] }, [['practice', 'Practice.']]),
        model('c', { serve: 'everyone' }, [['x', 'X.']]),
      ),
    );
    expect(message).toContain('model a (models/x.yml): column undescribed is served but has no description');
    expect(message).toContain('column odd: meta.serve must be');
    expect(message).toContain("serve.token 'passport' is not an identifier kind");
    expect(message).toContain('model b (models/x.yml): a commissioner model needs at least one column with meta.disclosure: count');
    expect(message).toContain("rate r divides by or into 'x', which is not a count column");
    expect(message).toContain("model c (models/x.yml): meta.serve must be 'analyst' or 'commissioner'");
  });
});
