// The headers every response carries, set by @fastify/helmet: a strict Content-Security-Policy
// (nothing loads but from this server, nothing frames it, forms post only back to it), no referrer,
// no MIME sniffing, and helmet's other defaults (HSTS, which browsers heed only over https;
// cross-origin isolation; X-Frame-Options DENY). Responses are `Cache-Control: no-store`: they are
// answers to signed-in people, and a shared or back-button cache must not keep them. A route serving
// static files may override that for its own responses.
//
// Why the style hashes: the pages are server-rendered with their stylesheet inline in a <style>
// element, which `style-src 'self'` alone would block. Rather than `'unsafe-inline'`, which would let
// any style in, the server allows exactly its own stylesheets by their SHA-256 (CSP level 2 hashes),
// taken from pages it renders at start-up. A style an attacker managed to inject would hash
// differently and stay blocked. Once the pages link a same-origin stylesheet instead, the list is
// empty and `'self'` covers it.

import { createHash } from 'node:crypto';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/** The policy's directives besides the style hashes; scripts, when pages get them, come from this server. */
export const CONTENT_SECURITY_DIRECTIVES = {
  defaultSrc: ["'none'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  scriptSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
} as const;

/** `'sha256-…'` for each distinct <style> element in the pages given. */
export function inlineStyleHashes(pages: readonly string[]): string[] {
  const hashes = new Set<string>();
  for (const html of pages) {
    for (const match of html.matchAll(/<style>([\s\S]*?)<\/style>/g)) {
      hashes.add(`'sha256-${createHash('sha256').update(match[1] as string, 'utf8').digest('base64')}'`);
    }
  }
  return [...hashes];
}

export async function registerSecurityHeaders(app: FastifyInstance, options: { styleHashes: readonly string[] }): Promise<void> {
  const directives = { ...CONTENT_SECURITY_DIRECTIVES, styleSrc: [...CONTENT_SECURITY_DIRECTIVES.styleSrc, ...options.styleHashes] };
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives },
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
  });
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });
}
