import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ParentProxy } from '../upstream/parent-proxy.js';
import type { ExchangeCapture } from '../model/exchange.js';
import { ProxyError, toProxyError } from '../model/errors.js';
import { notePhase } from '../model/channels.js';
import { fieldPairs, forwardResponseHeaders } from './headers.js';
import type { ProxyRecord } from '../model/record.js';

export interface Target {
  /** Set when the request goes to a parent proxy in absolute form (its 407 is about us). */
  parent: ParentProxy | undefined;
  origin: string;
  path: string;
  headers: string[];
  /** The upstream connection pool: the decided address's, the parent's, or the tunnel's own (interception). */
  dispatcher: Dispatcher;
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

/** What a response that cannot be paused (close-delimited) may hold for a slow client. */
const MAX_UNPAUSED_BUFFER = 16 * 1024 * 1024;

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
export function relay(req: IncomingMessage, res: ServerResponse, record: ProxyRecord, t: Target, capture?: ExchangeCapture): Promise<void> {
  return new Promise((resolve, reject) => relayExchange(req, res, record, t, capture, resolve, reject));
}

function relayExchange(
  req: IncomingMessage,
  res: ServerResponse,
  record: ProxyRecord,
  t: Target,
  capture: ExchangeCapture | undefined,
  finished: () => void,
  failed: (err: unknown) => void,
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
    finished();
  };
  res.once('close', () => {
    if (res.writableFinished) return;
    record.error ??= 'client_gone';
    capture?.fail(record.error, 'the client closed the connection before the response was complete');
    // Finished before the abort: undici reports the abort to onResponseError at once, which
    // would otherwise take it for the destination's failure and record it as internal.
    finish();
    controller?.abort(new Error('client closed the connection'));
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
      notePhase(record, 'ttfb', record.start);
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
      // it; a close-delimited body never has anything after it, so it is never paused: a slow
      // client of one is buffered here, up to a bound.
      if (res.write(chunk)) return;
      if (bodyLeft > 0) c.pause();
      else if (bodyLeft < 0 && res.writableLength > MAX_UNPAUSED_BUFFER) {
        c.abort(new ProxyError('client_slow', `${res.writableLength} bytes of a response without a length were waiting for the client`));
      }
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
        queueMicrotask(() => t.dispatcher.dispatch(options(), handler));
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
      // Nothing reached the client yet: the pipeline answers with the error.
      done = true;
      failed(err);
    },
  };
  t.dispatcher.dispatch(options(), handler);
}
