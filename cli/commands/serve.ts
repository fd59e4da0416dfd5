// `carelake serve`: the HTTP server for reports and the JSON API, reading only the published serving
// files, plus the engineers' runs page and metrics, which read the run ledger. Runs until interrupted;
// SIGINT/SIGTERM close it cleanly.

import { existsSync } from 'node:fs';
import { CarelakeError } from '../../core/errors.ts';
import { createLogger } from '../../core/logger.ts';
import { loadReportCatalog } from '../../warehouse/reports/markdown/reportCatalog.ts';
import { buildServer } from '../../warehouse/server/buildServer.ts';
import { openServingAccess } from '../../warehouse/server/servingAccess.ts';
import type { Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

/** Where Debian, Ubuntu and Chrome's packages put the browser. */
const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export async function serveCommand(ctx: CommandContext, options: { host?: string; port?: number }, out: Console): Promise<void> {
  const host = options.host ?? ctx.config.serve.host;
  const port = options.port ?? ctx.config.serve.port;
  const reports = await loadReportCatalog(ctx.config.reports.dir);
  // A report that does not compile is left off the index (which says so); the others are served.
  for (const broken of reports.broken) out.warn(`report not served: ${broken.error.message}`);
  const chromium = ctx.config.reports.chromium ?? SYSTEM_CHROMIUM.find((path) => existsSync(path)) ?? null;
  if (ctx.config.reports.chromium && !existsSync(ctx.config.reports.chromium)) out.warn(`reports.chromium: ${ctx.config.reports.chromium} does not exist; PDF export will fail`);
  if (!chromium) out.warn('no Chromium found (apt-get install chromium, or reports.chromium): reports are not offered as PDF');
  const access = await openServingAccess(ctx.config, ctx.layout);
  const server = await buildServer({
    layout: ctx.layout,
    reports,
    chromium,
    logger: createLogger(ctx.layout.logs),
    policy: access.policy,
    authenticate: access.authenticate,
    sessions: { ...ctx.config.serve.session, stillValid: access.stillValid },
    audit: access.audit,
    limits: ctx.config.serve.limits,
    operations: { config: ctx.config },
  });
  server.addHook('onClose', async () => access.close());
  try {
    await server.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CarelakeError({
      code: 'serve.listen',
      kind: 'runtime',
      message: `Cannot listen on ${host}:${port}: ${code === 'EADDRINUSE' ? 'the port is in use' : (err as Error).message}`,
      hint: code === 'EADDRINUSE' ? 'stop the other server, or pass --port <another port>' : undefined,
      cause: err,
    });
  }
  const address = server.addresses()[0];
  const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}/`;
  out.info(`carelake is serving at ${url} (reports) — API: /api/health, /api/reports/<report>, POST /api/query; engineers: ${url}ops (runs page), /metrics (Prometheus); people sign in at ${url}sign-in, programs send a bearer token (carelake keys create). Ctrl-C to stop.`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(() => resolve());
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
