import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';
import { admissionError, clientAddress } from './admission.js';
import type { ProxyContext } from './context.js';
import { formatHostPort, parseAbsoluteUri } from './destination.js';
import { ProxyError, toProxyError } from './errors.js';
import { publishRecord } from './events.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.js';
import { identify } from './identify.js';
import { newRecord, type ProxyRecord } from './record.js';
import { writeResponseError } from './respond.js';
import { route, type Route } from './route.js';

/** Absolute-URI requests (GET http://host/path): plain-HTTP forwarding with pooled upstreams. */
export function handleRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const record = newRecord(ctx.instance, 'http', clientAddress(req.socket));
  record.method = req.method;
  prepare(ctx, req, record).then(
    (target) => relay(ctx, req, res, record, target),
    (err: unknown) => fail(ctx, res, record, err),
  );
}

function fail(ctx: ProxyContext, res: ServerResponse, record: ProxyRecord, err: unknown): void {
  const e = toProxyError(err, record.resolved);
  record.status = e.spec.status;
  record.error = e.code;
  record.errorDetail = e.detail;
  writeResponseError(res, e, ctx.config.auth.realm);
  publishRecord(record);
}

interface Target {
  route: Route;
  origin: string;
  path: string;
  headers: string[];
}

/** identify -> parse target -> decide -> resolve -> decide(ip): shared with CONNECT via route(). */
async function prepare(ctx: ProxyContext, req: IncomingMessage, record: ProxyRecord): Promise<Target> {
  const refused = admissionError(ctx);
  if (refused) throw refused;
  const target = req.url ?? '';
  if (target.startsWith('/')) throw new ProxyError('not_a_proxy_request', `got a request for ${target.slice(0, 100)}`);
  record.identity = await identify(req, ctx);
  const { dest, url } = parseAbsoluteUri(target);
  record.target = formatHostPort(dest.host, dest.port);
  record.url = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'http:') {
    throw new ProxyError('bad_target', 'https:// URIs must be sent through a CONNECT tunnel', {
      hint: 'set https_proxy so the client sends CONNECT, e.g. https_proxy=http://HOST:PORT curl https://...',
    });
  }
  const r = await route({ dest, identity: record.identity, method: req.method ?? 'GET' }, ctx, record);
  const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, url.host);
  if (r.via === 'parent') {
    if (r.parent.authorization) headers.push('proxy-authorization', r.parent.authorization);
    record.via = 'parent';
    record.resolved = r.parent.display;
    return { route: r, origin: r.parent.url.origin, path: url.href, headers };
  }
  const { ip } = r.candidates[0]!;
  record.via = 'direct';
  record.resolved = formatHostPort(ip, dest.port);
  // Pools are keyed by the dialed address: the name is never resolved again by the client.
  return { route: r, origin: `http://${isIP(ip) === 6 ? `[${ip}]` : ip}:${dest.port}`, path: `${url.pathname}${url.search}`, headers };
}

async function* counted(body: AsyncIterable<Buffer>, record: ProxyRecord): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    record.bytesUp += chunk.length;
    yield chunk;
  }
}

/**
 * Streams the exchange through undici's handler interface: no intermediate Readable, and
 * backpressure both ways (a slow client pauses the upstream response).
 */
function relay(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, record: ProxyRecord, t: Target): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  let controller: Dispatcher.DispatchController | undefined;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    publishRecord(record);
  };
  res.once('close', () => {
    if (res.writableFinished) return;
    record.error ??= 'client_gone';
    controller?.abort(new Error('client closed the connection'));
    finish();
  });
  res.on('drain', () => controller?.resume());
  const options: Dispatcher.DispatchOptions = {
    origin: t.origin,
    path: t.path,
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: t.headers,
    // undici streams any async iterable; its typings only name Readable.
    body: hasBody ? (counted(req, record) as unknown as Dispatcher.DispatchOptions['body']) : null,
  };
  ctx.agent.dispatch(options, {
    onRequestStart(c) {
      controller = c;
    },
    onResponseStart(c, statusCode, headers, statusMessage) {
      if (statusCode < 200) return;
      if (t.route.via === 'parent' && statusCode === 407) {
        // The parent's 407 is about egresskit's credentials; passed on, it would ask the client for them.
        c.abort(new ProxyError('parent_proxy_auth', `${t.route.parent.display} answered 407`));
        return;
      }
      record.status = statusCode;
      const out = forwardResponseHeaders(headers as Record<string, string | string[] | undefined>);
      if (statusMessage) res.writeHead(statusCode, statusMessage, out);
      else res.writeHead(statusCode, out);
    },
    onResponseData(c, chunk) {
      record.bytesDown += chunk.length;
      if (!res.write(chunk)) c.pause();
    },
    onResponseEnd(_c, trailers) {
      const names = Object.keys(trailers);
      if (names.length > 0) res.addTrailers(trailers as Record<string, string>);
      res.end();
      finish();
    },
    onResponseError(_c, err) {
      if (done) return;
      if (res.headersSent) {
        record.error ??= toProxyError(err).code;
        res.destroy();
        finish();
        return;
      }
      done = true;
      fail(ctx, res, record, err);
    },
  });
}
