import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { normaliseBasePath } from '../config/ui-base-path.js';
import type { FlowSource } from './flow-source.js';
import { admit } from './access.js';
import { flowDetail, flowSummary } from './flow-json.js';
import { send, sendJson, sendText } from './http-reply.js';
import { listRoutes } from './list-routes.js';
import { contentSecurityPolicy, renderPage } from './page.js';
import { dispatch, type Handler, type Route } from './routes.js';

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

  const noFlow = (res: Parameters<Handler>[1], id: string): void =>
    sendJson(res, 404, { error: `no flow ${id}: it was never captured, was evicted to keep the store within its limits, or was cleared` });

  const page: Handler = (_req, res) => {
    const nonce = randomBytes(16).toString('base64');
    const flows = store.list({ limit: 1000 }).map(flowSummary);
    send(res, 200, renderPage(flows, version, nonce), {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': contentSecurityPolicy(nonce),
    });
  };

  const caCert: Handler = (_req, res) =>
    send(res, 200, caCertPem, {
      'content-type': 'application/x-x509-ca-cert',
      'content-disposition': 'attachment; filename="egresskit-ca.crt"',
    });

  const oneFlow: Handler = (_req, res, _url, id = '') => {
    const flow = store.get(id);
    if (!flow) return noFlow(res, id);
    sendJson(res, 200, flowDetail(flow));
  };

  const body =
    (which: 'request' | 'response'): Handler =>
    (_req, res, _url, id = '') => {
      const flow = store.get(id);
      if (!flow) return noFlow(res, id);
      const b = which === 'request' ? flow.request.body : flow.response?.body;
      if (!b) return sendJson(res, 404, { error: `flow ${id} has no response${flow.error ? ` (${flow.error.code})` : ' yet'}` });
      // Never with the captured content-type: an HTML body served from this origin would run.
      send(res, 200, b.captured, {
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename="${id}-${which}.bin"`,
        'content-security-policy': "default-src 'none'; sandbox",
        'x-egresskit-body-size': String(b.size),
        'x-egresskit-truncated': String(b.truncated),
      });
    };

  const routes: Route[] = [
    { pattern: /^\/$/, methods: { GET: page } },
    { pattern: /^\/ca\.crt$/, methods: { GET: caCert } },
    ...listRoutes({ store, version, maxListLimit, maxEventClients: opts.maxEventClients ?? 20, heartbeatMs: opts.heartbeatMs ?? 15_000 }),
    { pattern: /^\/api\/flows\/([A-Za-z0-9_-]{1,64})$/, methods: { GET: oneFlow } },
    { pattern: /^\/api\/flows\/([A-Za-z0-9_-]{1,64})\/request\/body$/, methods: { GET: body('request') } },
    { pattern: /^\/api\/flows\/([A-Za-z0-9_-]{1,64})\/response\/body$/, methods: { GET: body('response') } },
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
