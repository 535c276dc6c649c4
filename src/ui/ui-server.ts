import { createServer, type Server } from 'node:http';
import { normaliseBasePath } from '../config/ui-base-path.js';
import type { FlowSource } from './flow-source.js';
import { admit } from './access.js';
import { actionRoutes } from './action-routes.js';
import { detailRoutes } from './detail-routes.js';
import { send, sendText } from './http-reply.js';
import { listRoutes } from './list-routes.js';
import type { ProxyEndpoint } from './resend.js';
import { dispatch, type Handler, type Route } from './routes.js';
import { staticRoutes } from './static-assets.js';

export interface UiServerOptions {
  store: FlowSource;
  caCertPem: string;
  version: string;
  /** When set, every request needs it: `Authorization: Bearer`, the cookie a `?token=` visit sets, or `?token=` on the API. */
  token?: string;
  /** Where the token can be read, for the 401 page (e.g. "in /data/ui-token"); never the token. */
  tokenHint?: string;
  /** Host names answered besides IP literals and localhost (the bind name, --ui-allowed-hosts). */
  allowedHosts?: string[];
  /** Path prefix, e.g. "/egress/" behind an ingress; default "/". */
  basePath?: string;
  /** Concurrent /api/events clients; more get 503. */
  maxEventClients?: number;
  heartbeatMs?: number;
  /** Upper bound (and default) for ?limit= on api/flows: high enough to list a whole store at once. */
  maxListLimit?: number;
  /** The CA file named in copied curl commands. */
  caCertFile?: string;
  /** The proxy mode shown by api/meta. */
  mode?: string;
  /** The proxy's own listener, once bound: resend goes through it, curl commands name it. */
  proxy?: () => ProxyEndpoint | undefined;
  /** The built app (default dist/ui). */
  uiDir?: string;
  /** Largest HAR file accepted by POST api/har (default 256 MiB). */
  maxImportBytes?: number;
}

/**
 * The inspect UI and its JSON API, on its own port (never reachable through the proxy).
 * SSE clients keep connections open: after server.close(), call server.closeAllConnections().
 */
export function createUiServer(opts: UiServerOptions): Server {
  const { store, caCertPem, version, token } = opts;
  if (token !== undefined && token.length === 0) throw new Error('inspect UI token is empty: pass a non-empty token or none');
  const basePath = normaliseBasePath(opts.basePath ?? '/');
  if (basePath === undefined) throw new Error(`inspect UI base path ${JSON.stringify(opts.basePath)} is not a path prefix such as /egress/`);
  const maxListLimit = opts.maxListLimit ?? 100_000;
  const access = { token, tokenHint: opts.tokenHint, basePath, allowedHosts: { names: opts.allowedHosts ?? [] } };


  const caCert: Handler = (_req, res) =>
    send(res, 200, caCertPem, {
      'content-type': 'application/x-x509-ca-cert',
      'content-disposition': 'attachment; filename="egresskit-ca.crt"',
    });

  const app = {
    store,
    caCertPem,
    caCertFile: opts.caCertFile ?? 'egresskit-ca.crt',
    version,
    mode: opts.mode ?? 'inspect',
    proxy: opts.proxy ?? (() => undefined),
    basePath,
    tokenRequired: token !== undefined,
    maxImportBytes: opts.maxImportBytes ?? 256 * 1024 * 1024,
  };
  const routes: Route[] = [
    ...staticRoutes(opts.uiDir), ...detailRoutes(app), ...actionRoutes(app),
    { pattern: /^\/ca\.crt$/, methods: { GET: caCert } },
    ...listRoutes({ store, version, maxListLimit, maxEventClients: opts.maxEventClients ?? 20, heartbeatMs: opts.heartbeatMs ?? 15_000 }),
  ];

  return createServer((req, res) => {
    let raw: URL;
    try {
      raw = new URL(req.url ?? '/', 'http://ui.invalid');
    } catch {
      return sendText(res, 400, 'bad request target');
    }
    const url = admit(req, res, raw, access);
    if (!url) return;
    if (dispatch(routes, req, res, url)) return;
    sendText(res, 404, `not found: ${raw.pathname}; the UI is at ${basePath}, the API under ${basePath}api/flows`);
  });
}
