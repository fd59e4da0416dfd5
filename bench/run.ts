// `npm run bench`: every benchmark, one after another in this process, each printing its figures and
// its ratio against a baseline measured in the same run. Sizes are named constants in each bench.

import { benchBulkExport } from './bulkExport.bench.ts';
import { benchEsr } from './esr.bench.ts';
import { benchGenerate } from './generate.bench.ts';
import { benchHl7 } from './hl7.bench.ts';
import { benchLanding } from './landing.bench.ts';
import { benchLinkage } from './linkage.bench.ts';
import { benchServing } from './serving.bench.ts';
import { benchSqlOnFhir } from './sqlOnFhir.bench.ts';
import { benchTerminology } from './terminology.bench.ts';

const benches: [string, () => Promise<void>][] = [
  ['synthetic generation', benchGenerate],
  ['FHIR NDJSON landing', benchLanding],
  ['FHIR Bulk Data export', benchBulkExport],
  ['HL7 v2 parse and land', benchHl7],
  ['ESR GO parse and land', benchEsr],
  ['SQL-on-FHIR flattening', benchSqlOnFhir],
  ['patient linkage', benchLinkage],
  ['terminology mapping', benchTerminology],
  ['governed serving API', benchServing],
];

const only = process.argv.slice(2);
for (const [name, bench] of benches) {
  if (only.length > 0 && !only.some((o) => name.includes(o))) continue;
  console.log(`\n== ${name} ==`);
  await bench();
}
