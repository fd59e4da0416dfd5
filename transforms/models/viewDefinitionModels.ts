// SQL-on-FHIR v2 ViewDefinitions (`models/**/*.json`) as models. A view reads the FHIR source's table
// for its `resource` type (the `sql_on_fhir_source` var names the source, default `fhir`), keeps the
// latest landed version of each resource (by id, then meta.lastUpdated, then landing time — the raw
// layer holds every version an incremental export brought), and carries the raw layer's lineage columns
// onto every row. The ViewDefinition itself is compiled to SQL by transforms/sqlOnFhir. Pure: no I/O.

import { CarelakeError } from '../../core/errors.ts';
import { compileViewDefinition } from '../sqlOnFhir/compileView.ts';
import type { UnparsedModel } from './parse.ts';

/** Lineage columns of the raw layer, copied onto every row a view produces. */
export const VIEW_LINEAGE_COLUMNS = ['_source', '_run_id', '_file', '_record'] as const;

/** The FHIR resource type a ViewDefinition reads; a file that is not one is a compile error naming it. */
export function viewResourceType(model: UnparsedModel): string {
  let view: unknown;
  try {
    view = JSON.parse(model.rawSql);
  } catch (err) {
    throw viewError(model, `is not valid JSON: ${(err as Error).message}`);
  }
  const resource = typeof view === 'object' && view !== null ? (view as Record<string, unknown>).resource : undefined;
  if (typeof resource !== 'string' || !/^[A-Z][A-Za-z]+$/.test(resource)) throw viewError(model, "is not a ViewDefinition: 'resource' must name a FHIR resource type, e.g. \"Patient\"");
  return resource;
}

/** The latest version of each resource in `sourceRelation`. */
export function latestResourcesSql(sourceRelation: string): string {
  return `(select * from ${sourceRelation} qualify row_number() over (partition by id order by last_updated desc nulls last, _ingested_at desc) = 1)`;
}

/** The view as typed SQL over the latest resources, with the lineage columns after its own. */
export function compileViewModel(model: UnparsedModel, sourceRelation: string): string {
  const compiled = compileViewDefinition(JSON.parse(model.rawSql), {
    from: latestResourcesSql(sourceRelation),
    mode: 'typed',
    passThrough: [...VIEW_LINEAGE_COLUMNS],
    file: model.path,
  });
  return `-- SQL-on-FHIR v2 ViewDefinition ${compiled.name} over ${compiled.resource} (${model.path})\n${compiled.sql}`;
}

function viewError(model: UnparsedModel, reason: string): CarelakeError {
  return new CarelakeError({ code: 'models.view_definition', kind: 'compile', message: `View '${model.uniqueId}' (${model.path}) ${reason}`, location: { file: model.path } });
}
