import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';
import type { ParentProxy } from '../upstream/parent-proxy.js';
import { absoluteTarget } from './absolute-target.js';
import { clientAddress } from './admission.js';
import type { ProxyContext } from './context.js';
import type { ExchangeCapture } from '../model/exchange.js';
import { formatHostPort } from '../model/destination.js';
import { ProxyError, toProxyError } from '../model/errors.js';
import { publishRecord } from '../model/channels.js';
import { failExchange } from './fail.js';
import { fieldPairs, forwardRequestHeaders, forwardResponseHeaders, headerPairs } from './headers.js';
import { newRecord, type ProxyRecord } from '../model/record.js';
import { route } from './route.js';

/** Absolute-URI requests (GET http://host/path): plain-HTTP forwarding with pooled upstreams. */
export function handleRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const record = newRecord(ctx.instance, 'http', clientAddress(req.socket));
  record.method = req.method;
  prepare(ctx, req, record).then(
    (target) => relay(ctx, req, res, record, target, ctx.capture && captureFor(ctx, req, record, target)),
    (err: unknown) => failExchange(ctx, res, record, err),
  );
}

export interface Target {
  /** Set when the request goes to a parent proxy in absolute form (its 407 is about us). */
  parent: ParentProxy | undefined;
  origin: string;
  path: string;
  headers: string[];
  /** The upstream connection pool; ctx.agent unless the exchange has its own (interception). */
  dispatcher?: Dispatcher;
  dest: { host: string; port: number };
}

function captureFor(ctx: ProxyContext, req: IncomingMessage, record: ProxyRecord, t: Target): ExchangeCapture | undefined {
  return ctx.capture?.({
    record,
    scheme: 'http',
    host: t.dest.host,
    port: t.dest.port,
    target: req.url ?? '',
    httpVersion: `HTTP/${req.httpVersion}`,
    headers: headerPairs(req.rawHeaders),
    intercepted: false,
  });
}

/** identify -> parse target -> decide -> resolve -> decide(ip): shared with CONNECT via route(). */
async function prepare(ctx: ProxyContext, req: IncomingMessage, record: ProxyRecord): Promise<Target> {
  const { dest, url, identity } = await absoluteTarget(ctx, req, record, 'a request');
  if (url.protocol !== 'http:') {
    throw new ProxyError('bad_target', 'https:// URIs must be sent through a CONNECT tunnel', {
      hint: 'set https_proxy so the client sends CONNECT, e.g. https_proxy=http://HOST:PORT curl https://...',
    });
  }
  const r = await route({ dest, identity, method: req.method ?? 'GET' }, ctx, record);
  const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, url.host);
  if (r.via === 'parent') {
    if (r.parent.authorization) headers.push('proxy-authorization', r.parent.authorization);
    record.via = 'parent';
    record.resolved = r.parent.display;
    return { parent: r.parent, origin: r.parent.url.origin, path: url.href, headers, dest };
  }
  const { ip } = r.candidates[0]!;
  record.via = 'direct';
  record.resolved = formatHostPort(ip, dest.port);
  // Pools are keyed by the dialed address: the name is never resolved again by the client.
  return { parent: undefined, origin: `http://${isIP(ip) === 6 ? `[${ip}]` : ip}:${dest.port}`, path: `${url.pathname}${url.search}`, headers, dest };
}

async function* counted(body: AsyncIterable<Buffer>, record: ProxyRecord, capture: ExchangeCapture | undefined, started: () => void): AsyncGenerator<Buffer> {
  started();
  for await (const chunk of body) {
    record.bytesUp += chunk.length;
    capture?.requestData(chunk);
    yield chunk;
  }
  capture?.requestEnd();
}

/** RFC 9110 section 9.2.2: a request these methods sent twice has the effect of sending it once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** How a pooled connection the destination closed under a request fails (undici's "other side closed", a reset). */
const CONNECTION_LOST = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * How many body bytes are still to come when a response starts, as undici frames it: a
 * Content-Length counts down; chunked never reaches 0 before its terminator has been parsed;
 * no body is 0; a body delimited by the close of the connection is 0 (see onResponseData).
 */
function bodyLength(method: string, status: number, headers: Record<string, string | string[] | undefined>): number {
  if (method === 'HEAD' || status === 204 || status === 304) return 0;
  if (headers['transfer-encoding'] !== undefined) return Infinity;
  const length = headers['content-length'];
  return typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : 0;
}

/**
 * Streams the exchange through undici's handler interface: no intermediate Readable, and
 * backpressure both ways (a slow client pauses the upstream response). Shared by plain HTTP
 * forwarding and the requests inside an intercepted tunnel; `capture` (inspect mode) sees
 * every chunk as it passes and keeps at most its cap.
 */
export function relay(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  record: ProxyRecord,
  t: Target,
  capture?: ExchangeCapture,
): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) capture?.requestEnd();
  const method = req.method ?? 'GET';
  let controller: Dispatcher.DispatchController | undefined;
  let done = false;
  let bodyStarted = false;
  let responded = false;
  let retried = false;
  let bodyLeft = 0;
  const finish = () => {
    if (done) return;
    done = true;
    publishRecord(record);
  };
  res.once('close', () => {
    if (res.writableFinished) return;
    record.error ??= 'client_gone';
    capture?.fail(record.error, 'the client closed the connection before the response was complete');
    controller?.abort(new Error('client closed the connection'));
    finish();
  });
  res.on('drain', () => controller?.resume());
  const options = (): Dispatcher.DispatchOptions => ({
    origin: t.origin,
    path: t.path,
    method: method as Dispatcher.HttpMethod,
    headers: t.headers,
    // undici streams any async iterable; its typings only name Readable.
    body: hasBody ? (counted(req, record, capture, () => (bodyStarted = true)) as unknown as Dispatcher.DispatchOptions['body']) : null,
  });
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      controller = c;
      // A retry that starts after the client left.
      if (done) c.abort(new Error('client closed the connection'));
    },
    onResponseStart(c, statusCode, headers, statusMessage) {
      responded = true;
      if (statusCode < 200) return;
      if (t.parent && statusCode === 407) {
        // The parent's 407 is about egresskit's credentials; passed on, it would ask the client for them.
        c.abort(new ProxyError('parent_proxy_auth', `${t.parent.display} answered 407`));
        return;
      }
      record.status = statusCode;
      bodyLeft = bodyLength(method, statusCode, headers as Record<string, string | string[] | undefined>);
      capture?.responseStart(statusCode, statusMessage ?? '', fieldPairs(headers as Record<string, string | string[] | undefined>));
      const out = forwardResponseHeaders(headers as Record<string, string | string[] | undefined>);
      if (statusMessage) res.writeHead(statusCode, statusMessage, out);
      else res.writeHead(statusCode, out);
    },
    onResponseData(c, chunk) {
      record.bytesDown += chunk.length;
      capture?.responseData(chunk);
      bodyLeft -= chunk.length;
      // Never pause on the chunk that ends the body: undici's parser would stop before its
      // message-complete step with nothing left unread, so a close from the destination (its
      // keep-alive timer, while a slow client drains) reads as a broken response (keep-alive:
      // "other side closed", the client's tail cut; close-delimited: an assertion in undici 7
      // that kills the process). What is still unread after a pause keeps that close behind
      // it; a close-delimited body never has anything after it, so it is never paused and a
      // slow client of one is buffered here.
      if (!res.write(chunk) && bodyLeft > 0) c.pause();
    },
    onResponseEnd(_c, trailers) {
      const names = Object.keys(trailers);
      if (names.length > 0) res.addTrailers(trailers as Record<string, string>);
      capture?.responseEnd(names.length > 0 ? fieldPairs(trailers as Record<string, string | string[] | undefined>) : []);
      res.end();
      finish();
    },
    onResponseError(_c, err) {
      if (done) return;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      // A pooled connection the destination had just closed: sent once more on a new one, as
      // undici and browsers do, when nothing of it can have been acted on twice.
      if (!responded && !retried && !bodyStarted && IDEMPOTENT.has(method) && CONNECTION_LOST.has(code)) {
        retried = true;
        // Out of undici's own close handling, which is still on the stack.
        queueMicrotask(() => dispatcher.dispatch(options(), handler));
        return;
      }
      if (res.headersSent) {
        const e = toProxyError(err);
        record.error ??= e.code;
        capture?.fail(record.error, e.message);
        res.destroy();
        finish();
        return;
      }
      done = true;
      failExchange(ctx, res, record, err, capture);
    },
  };
  const dispatcher = t.dispatcher ?? ctx.agent;
  dispatcher.dispatch(options(), handler);
}
