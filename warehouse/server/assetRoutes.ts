// The static files the pages use, served same-origin from /assets so the Content-Security-Policy can
// stay `'self'` and nothing is fetched from anywhere else: the NHS.UK frontend's CSS and icons,
// ECharts, and carelake's own chart script and stylesheet. Files are looked up by name in a fixed
// list (the icons: the names in nhsuk-frontend's images folder at start-up), so no path from a request
// ever reaches the file system. Public: they hold no data, and the sign-in page needs them.
//
// The NHS.UK stylesheet is served without its @font-face rules: they load Frutiger from
// assets.nhs.uk, which a page on this server must not call out to (and which NHS England licenses for
// its own services). The frontend's font stack then falls back to Arial, as it does wherever the font
// cannot load.

import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { HttpProblem } from './operationOutcome.ts';

interface Asset {
  file: string;
  type: string;
  /** Applied once, when the file is first read. */
  transform?: (text: string) => string;
}

const require = createRequire(import.meta.url);
const NHSUK_CSS = require.resolve('nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css');
const NHSUK_IMAGES = join(dirname(NHSUK_CSS), 'assets', 'images');
const OWN_ASSETS = join(import.meta.dirname, '..', 'reports', 'assets');

const CSS = 'text/css; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const IMAGE_TYPES: Record<string, string> = { svg: 'image/svg+xml', png: 'image/png', ico: 'image/x-icon' };

/** `@font-face { … }` blocks (they hold no nested braces). */
export function withoutFontFaces(css: string): string {
  return css.replace(/@font-face\s*\{[^}]*\}/g, '');
}

function assets(): Map<string, Asset> {
  const list = new Map<string, Asset>([
    ['nhsuk-frontend.min.css', { file: NHSUK_CSS, type: CSS, transform: withoutFontFaces }],
    ['echarts.min.js', { file: require.resolve('echarts/dist/echarts.min.js'), type: JS }],
    ['carelake-charts.js', { file: join(OWN_ASSETS, 'carelake-charts.js'), type: JS }],
    ['carelake.css', { file: join(OWN_ASSETS, 'carelake.css'), type: CSS }],
  ]);
  for (const name of readdirSync(NHSUK_IMAGES)) {
    const type = IMAGE_TYPES[name.slice(name.lastIndexOf('.') + 1)];
    if (type) list.set(`images/${name}`, { file: join(NHSUK_IMAGES, name), type });
  }
  return list;
}

/** The assets by name, read once and kept. Shared by the routes and the PDF printer (reportPdf.ts). */
export class AssetStore {
  private readonly known = assets();
  private readonly cache = new Map<string, Buffer>();

  /** The asset called `name` (`carelake.css`, `images/nhsuk-icon-tick.svg`), or null if there is none. */
  async get(name: string): Promise<{ body: Buffer; type: string } | null> {
    const asset = this.known.get(name);
    if (!asset) return null;
    let body = this.cache.get(name);
    if (!body) {
      const raw = await readFile(asset.file);
      body = asset.transform ? Buffer.from(asset.transform(raw.toString('utf8'))) : raw;
      this.cache.set(name, body);
    }
    return { body, type: asset.type };
  }
}

export function registerAssetRoutes(app: FastifyInstance, store: AssetStore): void {
  const send = async (name: string): Promise<{ body: Buffer; type: string }> => {
    const asset = await store.get(name);
    if (!asset) throw new HttpProblem('not-found', 'Not found.');
    return asset;
  };
  const config = { access: 'public', rateLimit: false } as const;
  app.get<{ Params: { name: string } }>('/assets/:name', { config }, async (request, reply) => {
    const { body, type } = await send(request.params.name);
    return reply.type(type).header('cache-control', 'public, max-age=3600').send(body);
  });
  app.get<{ Params: { name: string } }>('/assets/images/:name', { config }, async (request, reply) => {
    const { body, type } = await send(`images/${request.params.name}`);
    return reply.type(type).header('cache-control', 'public, max-age=3600').send(body);
  });
}
