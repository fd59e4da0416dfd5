// A seed (a CSV file under the seed paths) as the SELECT that loads it: DuckDB's own CSV reader with
// the header row for column names, the seed's `delimiter`, and `column_types` overriding the detected
// type of the columns it names (as in dbt, every other column's type is inferred — so give codes such
// as ICD-10 or SNOMED identifiers a VARCHAR type, or leading zeros are lost). The seed then builds like
// a table model. Pure: no I/O.

import { quoteLiteral } from '../../core/sql.ts';
import { isRecord } from './modelConfig.ts';

export interface SeedConfig {
  delimiter?: unknown;
  column_types?: unknown;
}

/** The SELECT reading the seed at `absolutePath`; throws an Error naming the bad config key. */
export function seedSelectSql(absolutePath: string, config: SeedConfig): string {
  const options = ['header = true', 'auto_detect = true'];
  if (config.delimiter !== undefined) {
    if (typeof config.delimiter !== 'string' || config.delimiter.length === 0) throw new Error('delimiter must be a non-empty string, e.g. "|"');
    options.push(`delim = ${quoteLiteral(config.delimiter)}`);
  }
  if (config.column_types !== undefined) {
    if (!isRecord(config.column_types)) throw new Error('column_types must map column names to types, e.g. {code: varchar}');
    const entries = Object.entries(config.column_types).map(([column, type]) => {
      if (typeof type !== 'string' || !/^[A-Za-z][A-Za-z0-9_ (),]*$/.test(type)) throw new Error(`column_types.${column} must be a type name such as varchar or date`);
      return `${quoteLiteral(column)}: ${quoteLiteral(type)}`;
    });
    if (entries.length > 0) options.push(`types = {${entries.join(', ')}}`);
  }
  return `select * from read_csv(${quoteLiteral(absolutePath)}, ${options.join(', ')})`;
}
