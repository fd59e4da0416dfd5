// Runs the test Bulk Data server in its own process for benchmarks, so the data it holds in memory
// is not counted in the measured client's RSS. Prints {"baseUrl": …} once listening; exits on SIGTERM.

import { FhirBulkTestServer } from '../tests/support/fhirBulkServer/FhirBulkTestServer.ts';

const folder = process.argv[2];
if (!folder) throw new Error('usage: bulkServerProcess.ts <folder with manifest.json>');
const server = await FhirBulkTestServer.start(await FhirBulkTestServer.fromFolder(folder), { pollsBeforeComplete: 1, retryAfterSeconds: 0, expireFilesAfterMs: 3_600_000 });
process.stdout.write(`${JSON.stringify({ baseUrl: server.baseUrl })}\n`);
process.on('SIGTERM', () => {
  void server.close().finally(() => process.exit(0));
});
