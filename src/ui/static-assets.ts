import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { send, sendText, type Handler, type Route } from './respond.js';

/** Where `npm run build` puts the app (vite build of ui/): dist/ui, next to dist/src. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));

/**
 * The app's only sources are its own files: no inline script or style, no other origin. Bodies
 * are shown as blob: or data: images; everything else is fetched from this server.
 */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/**
 * The built app, read into memory once (it is small): index.html for the two pages (`./` and
 * `./ca`, both at the base path's depth so relative links work under any prefix) and the hashed
 * files under assets/, cached for a year since their names change with their content.
 */
export function staticRoutes(dir: string = DEFAULT_UI_DIR): Route[] {
  const indexFile = join(dir, 'index.html');
  const index = existsSync(indexFile) ? readFileSync(indexFile) : undefined;
  const assets = new Map<string, Buffer>();
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir)) for (const name of readdirSync(assetDir)) assets.set(name, readFileSync(join(assetDir, name)));

  const page: Handler = (_req, res) => {
    if (!index) {
      return sendText(res, 500, `the UI was not built: run npm run build (${indexFile} is missing); the JSON API under api/ keeps working`);
    }
    send(res, 200, index, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': APP_CSP });
  };
  const asset: Handler = (_req, res, _url, name = '') => {
    const bytes = assets.get(name);
    if (!bytes) return sendText(res, 404, `no asset ${name}: the page is older than this server's build; reload it`);
    send(res, 200, bytes, {
      'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
      'cache-control': 'public, max-age=31536000, immutable',
      'content-security-policy': APP_CSP,
    });
  };
  return [
    { pattern: /^\/(ca)?$/, methods: { GET: page } },
    { pattern: /^\/assets\/([A-Za-z0-9._-]{1,128})$/, methods: { GET: asset } },
  ];
}
