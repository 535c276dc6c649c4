import { X509Certificate } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { flowUrl, type Flow, type HeaderList } from '../flows/flow.js';
import { flowsFromHarOffThread } from '../flows/har-import-off-thread.js';
import type { AppContext } from './app-context.js';
import { proxyUrlFor } from './proxy-url.js';
import { replayThroughProxy, type Replay } from './resend.js';
import { BodyTooLarge, isJsonRequest, readBody, sendJson, type Handler, type Route } from './respond.js';

const MAX_RESEND_JSON = 16 * 1024 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Resend, HAR import and api/meta: what the app does besides reading flows. */
export function actionRoutes(ctx: AppContext): Route[] {
  const { store } = ctx;
  let fingerprint: string | null | undefined;

  const meta: Handler = (req, res) => {
    if (fingerprint === undefined) {
      try {
        fingerprint = new X509Certificate(ctx.caCertPem).fingerprint256;
      } catch {
        fingerprint = null;
      }
    }
    sendJson(res, 200, {
      version: ctx.version,
      mode: ctx.mode,
      proxy: proxyUrlFor(ctx.proxy(), req.headers.host),
      caFingerprint: fingerprint,
      basePath: ctx.basePath,
      tokenRequired: ctx.tokenRequired,
    });
  };

  const resend: Handler = (req, res, _url, id = '') => {
    const flow = store.get(id);
    if (!flow) return sendJson(res, 404, { error: `no flow ${id}: it was evicted, deleted or cleared` });
    if (!isJsonRequest(req)) return sendJson(res, 415, { error: 'send the resend request as content-type: application/json' });
    const proxy = ctx.proxy();
    if (!proxy) return sendJson(res, 409, { error: 'the proxy is not listening: nothing to resend through' });
    if (proxy.scheme === 'https') {
      return sendJson(res, 409, { error: 'this proxy listens with TLS and client certificates (mtls): the UI holds no client certificate to resend with; use copy as curl with yours' });
    }
    readJson(req, res, MAX_RESEND_JSON, (input) => {
      const replay = replayOf(flow, input);
      if (typeof replay === 'string') return sendJson(res, 400, { error: replay });
      const added: Flow[] = [];
      const onFlow = (e: { type: string; flow?: Flow }) => e.type === 'add' && e.flow && added.push(e.flow);
      store.on('flow', onFlow);
      const settle = (status: number, value: unknown) => {
        store.off('flow', onFlow);
        sendJson(res, status, value);
      };
      replayThroughProxy(replay, proxy, ctx.caCertPem)
        .then(async (r) => {
          // A refused CONNECT becomes a flow when its record is published, just after the answer.
          let mine = added.find((f) => f.client === r.client);
          for (let i = 0; !mine && i < 20; i++) {
            await new Promise((ok) => setTimeout(ok, 50));
            mine = added.find((f) => f.client === r.client);
          }
          settle(200, { status: r.status, ...(mine ? { flowId: mine.id } : {}) });
        })
        .catch((err: Error) => settle(502, { error: `resend failed: ${err.message}` }));
    });
  };

  // One import at a time: each holds the file and its flows in memory twice while it runs.
  let importing = false;
  const importHar: Handler = (req, res) => {
    if (!isJsonRequest(req)) {
      req.resume();
      return sendJson(res, 415, { error: 'send the HAR file as content-type: application/json' });
    }
    if (importing) {
      req.resume();
      return sendJson(res, 503, { error: 'another HAR import is running; try again when it is done' }, { 'retry-after': '2', connection: 'close' });
    }
    importing = true;
    readBody(req, ctx.maxImportBytes)
      .then(async (buf) => {
        const result = await flowsFromHarOffThread(buf);
        if ('error' in result) return sendJson(res, 400, { error: result.error });
        for (const f of result.flows) store.add(f);
        sendJson(res, 200, { imported: result.flows.length, kept: result.flows.filter((f) => store.get(f.id)).length });
      }, (err: Error) => tooLarge(res, err))
      .catch((err: Error) => sendJson(res, 500, { error: `HAR import failed: ${err.message}` }))
      .finally(() => {
        importing = false;
      });
  };

  return [
    { pattern: /^\/api\/meta$/, methods: { GET: meta } },
    { pattern: /^\/api\/har$/, methods: { POST: importHar } },
    { pattern: /^\/api\/flows\/([A-Za-z0-9_-]{1,64})\/resend$/, methods: { POST: resend } },
  ];
}

function tooLarge(res: ServerResponse, err: Error): void {
  if (err instanceof BodyTooLarge) sendJson(res, 413, { error: `${err.message}; the limit is ${err.maxBytes} bytes` }, { connection: 'close' });
  else if (!res.headersSent) sendJson(res, 400, { error: err.message });
}

function readJson(req: Parameters<Handler>[0], res: ServerResponse, max: number, then: (v: unknown) => void): void {
  readBody(req, max).then((buf) => {
    try {
      then(JSON.parse(buf.toString('utf8') || '{}'));
    } catch {
      sendJson(res, 400, { error: 'the body is not JSON' });
    }
  }, (err: Error) => tooLarge(res, err));
}

/** The flow's request with the edits the user made; a string says what is wrong. */
function replayOf(flow: Flow, input: unknown): Replay | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'the body must be a JSON object {method?, url?, headers?, bodyBase64?}';
  const o = input as Record<string, unknown>;
  const method = o.method ?? flow.request.method;
  if (typeof method !== 'string' || !TOKEN.test(method) || method.toUpperCase() === 'CONNECT') return `method ${JSON.stringify(method)} is not an HTTP method egresskit can resend`;
  let url: URL;
  try {
    url = new URL(typeof o.url === 'string' ? o.url : flowUrl(flow));
  } catch {
    return `url ${JSON.stringify(o.url)} is not an absolute URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `url must be http or https, got ${url.protocol}`;
  let headers: HeaderList = flow.request.headers;
  if (o.headers !== undefined) {
    if (!Array.isArray(o.headers)) return 'headers must be an array of [name, value] pairs';
    headers = [];
    for (const h of o.headers as unknown[]) {
      if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string') return 'headers must be an array of [name, value] pairs of strings';
      if (!TOKEN.test(h[0])) return `header name ${JSON.stringify(h[0])} is not a valid field name`;
      if (/[\r\n\0]/.test(h[1])) return `header ${h[0]} has a CR, LF or NUL in its value`;
      headers.push([h[0], h[1]]);
    }
  }
  let body = flow.request.body.captured;
  if (o.bodyBase64 !== undefined) {
    if (typeof o.bodyBase64 !== 'string') return 'bodyBase64 must be a string';
    body = Buffer.from(o.bodyBase64, 'base64');
  } else if (flow.request.body.truncated) {
    return `the request body was cut at ${flow.request.body.captured.length} of ${flow.request.body.size} bytes: resend would send less than the original; pass bodyBase64`;
  }
  return { method, url, headers, body };
}
