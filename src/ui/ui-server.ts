import { createServer, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { FlowListQuery } from '../flows/flow-store.js';
import type { FlowSource } from './flow-source.js';
import { toHar } from '../flows/har.js';
import { streamEvents } from './events.js';
import { flowSummary } from './flow-json.js';
import { hostAllowed, originAllowed, requestToken, tokenMatches } from './guard.js';
import { actionRoutes } from './action-routes.js';
import { detailRoutes } from './detail-routes.js';
import type { ProxyEndpoint } from './resend.js';
import { BASE_HEADERS, type Handler, type Route } from './respond.js';
import { staticRoutes } from './static-assets.js';

export interface UiServerOptions {
  store: FlowSource;
  caCertPem: string;
  version: string;
  /** When set, every request needs `Authorization: Bearer <token>` or `?token=<token>`. */
  token?: string;
  /** Concurrent /api/events clients; more get 503. */
  maxEventClients?: number;
  heartbeatMs?: number;
  /** Upper bound for ?limit= on /api/flows and the rows rendered at /. */
  maxListLimit?: number;
  /** The CA file named in copied curl commands. */
  caCertFile?: string;
  /** The proxy mode shown by api/meta. */
  mode?: string;
  /** The proxy's own listener, once bound: resend goes through it, curl commands name it. */
  proxy?: () => ProxyEndpoint | undefined;
  /** The built app (default dist/ui). */
  uiDir?: string;
  basePath?: string;
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
  const maxEventClients = opts.maxEventClients ?? 20;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxListLimit = opts.maxListLimit ?? 1000;
  let eventClients = 0;

  const send = (res: ServerResponse, status: number, body: string | Buffer, headers: OutgoingHttpHeaders = {}): void => {
    res.writeHead(status, { ...BASE_HEADERS, 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  const text = (res: ServerResponse, status: number, msg: string, headers: OutgoingHttpHeaders = {}): void =>
    send(res, status, `${msg}\n`, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  const json = (res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void =>
    send(res, status, JSON.stringify(value), { 'content-type': 'application/json; charset=utf-8', ...headers });

  const caCert: Handler = (_req, res) =>
    send(res, 200, caCertPem, {
      'content-type': 'application/x-x509-ca-cert',
      'content-disposition': 'attachment; filename="egresskit-ca.crt"',
    });

  const listFlows: Handler = (_req, res, url) => {
    const p = url.searchParams;
    const query: FlowListQuery = { limit: maxListLimit };
    for (const key of ['host', 'method', 'status', 'search', 'sinceId'] as const) {
      const v = p.get(key);
      if (v !== null && v !== '') query[key] = v;
    }
    const limit = p.get('limit');
    if (limit !== null && limit !== '') {
      if (!/^\d+$/.test(limit)) return json(res, 400, { error: `limit must be a non-negative integer, got ${JSON.stringify(limit)}` });
      query.limit = Math.min(Number(limit), maxListLimit);
    }
    json(res, 200, { flows: store.list(query).map(flowSummary), total: store.size });
  };

  const clear: Handler = (_req, res) => {
    store.clear();
    res.writeHead(204, BASE_HEADERS).end();
  };

  const har: Handler = (_req, res) => {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    json(res, 200, toHar(store.list().reverse(), { name: 'egresskit', version }), {
      'content-disposition': `attachment; filename="egresskit-${stamp}.har"`,
    });
  };

  const events: Handler = (req, res) => {
    if (eventClients >= maxEventClients) {
      return text(res, 503, `too many event streams open (${maxEventClients}); close another UI tab`, { 'retry-after': '5' });
    }
    if (req.method === 'HEAD') return send(res, 200, '', { 'content-type': 'text/event-stream; charset=utf-8' });
    eventClients++;
    streamEvents(store, res, { heartbeatMs, maxQueuedBytes: 1024 * 1024 }, () => eventClients--);
  };

  const app = {
    store,
    caCertPem,
    caCertFile: opts.caCertFile ?? 'egresskit-ca.crt',
    version,
    mode: opts.mode ?? 'inspect',
    proxy: opts.proxy ?? (() => undefined),
    basePath: opts.basePath ?? '/',
    tokenRequired: token !== undefined,
    maxImportBytes: opts.maxImportBytes ?? 256 * 1024 * 1024,
  };
  const routes: Route[] = [
    ...staticRoutes(opts.uiDir), ...detailRoutes(app), ...actionRoutes(app),
    { pattern: /^\/ca\.crt$/, methods: { GET: caCert } },
    { pattern: /^\/api\/flows$/, methods: { GET: listFlows, DELETE: clear } },
    { pattern: /^\/api\/flows\.har$/, methods: { GET: har } },
    { pattern: /^\/api\/events$/, methods: { GET: events } },
  ];

  const server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://ui.invalid');
    } catch {
      return text(res, 400, 'bad request target');
    }
    if (token !== undefined) {
      const given = requestToken(req, url);
      if (given === undefined || !tokenMatches(given, token)) {
        return text(res, 401, 'the inspect UI needs its token: open it as /?token=<token> or send Authorization: Bearer <token>', {
          'www-authenticate': 'Bearer realm="egresskit-inspect"',
        });
      }
    } else if (!hostAllowed(req.headers.host)) {
      return text(res, 403, `refused Host ${JSON.stringify(req.headers.host ?? '')}: without a UI token only IP addresses and localhost are answered (DNS-rebinding guard); open the UI by IP, or set a token`);
    }
    if (!originAllowed(req)) return text(res, 403, `refused cross-origin request from ${req.headers.origin ?? ''}`);

    for (const route of routes) {
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const handler = method === 'GET' || method === 'DELETE' || method === 'POST' ? route.methods[method] : undefined;
      if (!handler) {
        const allow = Object.keys(route.methods).flatMap((k) => (k === 'GET' ? ['GET', 'HEAD'] : [k]));
        return text(res, 405, `${req.method} is not allowed on ${url.pathname}; use ${allow.join(', ')}`, { allow: allow.join(', ') });
      }
      return handler(req, res, url, m[1]);
    }
    text(res, 404, `not found: ${url.pathname}; the UI is at /, the API under /api/flows`);
  });
  return server;
}
