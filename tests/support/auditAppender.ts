// A separate process appending to an audit log, for the multi-process tests:
//   node --import tsx tests/support/auditAppender.ts <log file> <count> <principal> [concurrency]
// Appends <count> entries (<concurrency> in flight at once), then prints how many it wrote.

import { AuditLog } from '../../warehouse/audit/auditLog.ts';

const [file, countText, principal, concurrencyText] = process.argv.slice(2);
if (!file || !countText || !principal) {
  process.stderr.write('usage: auditAppender.ts <log file> <count> <principal> [concurrency]\n');
  process.exit(2);
}
const who: string = principal;
const count = Number(countText);
const concurrency = Number(concurrencyText ?? '1');
const log = AuditLog.open(file);
let next = 0;
let written = 0;
async function worker(): Promise<void> {
  while (next < count) {
    const i = next++;
    await log.append({
      principal: who,
      role: 'analyst',
      endpoint: 'cli query',
      query: `select ${i} as n`,
      rows: 1,
      durationMs: 0.5,
      outcome: 'ok',
      status: 0,
      requestId: `${who}-${i}`,
    });
    written++;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
await log.close();
process.stdout.write(`${written}\n`);
