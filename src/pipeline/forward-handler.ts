import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ParentProxy } from '../upstream/parent-proxy.js';
import type { ExchangeCapture } from '../model/exchange.js';
import { ProxyError, toProxyError } from '../model/errors.js';
import { notePhase } from '../model/channels.js';
import { forwardRawResponseHeaders, rawFieldPairs, type RawResponseHead } from './headers.js';
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
 * no body is 0; a body delimited by the close of the connection is 0 (see onData).
 */
function bodyLength(method: string, status: number, head: RawResponseHead): number {
  if (method === 'HEAD' || status === 204 || status === 304) return 0;
  if (head.chunked) return Infinity;
  const length = head.contentLength;
  return length !== undefined && /^\d+$/.test(length) ? Number(length) : 0;
}

/** undici's trailers ([name, value, ...]) as the object res.addTrailers takes, names lowercased, repeats as arrays. */
function trailerObject(raw: ReadonlyArray<Buffer | string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}

/**
 * Streams the exchange through undici's handler interface: no intermediate Readable, and
 * backpressure both ways (a slow client pauses the upstream response). Shared by plain HTTP
 * forwarding and the requests inside an intercepted tunnel; `capture` (inspect mode) sees
 * every chunk as it passes and keeps at most its cap.
 */
export function relay(req: IncomingMessage, res: ServerResponse, record: ProxyRecord, t: Target, capture?: ExchangeCapture): Promise<void> {
  return new Promise((resolve, reject) => new RelayExchange(req, res, record, t, capture, resolve, reject).start());
}

/**
 * One exchange as undici's own (raw) handler: onConnect/onHeaders/onData/onComplete/onError
 * get the head as undici parsed it, in wire order, so the fields are filtered once into the
 * flat list writeHead takes. The newer onRequestStart/onResponseStart interface wraps this one
 * in an adapter per request that builds a header object first (its parseHeaders, the adapter
 * and the object filter were about 3 % of the proxy's CPU per request, cpu-prof). One object
 * per exchange, no closures per callback.
 */
class RelayExchange implements Dispatcher.DispatchHandler {
  private readonly method: string;
  private readonly hasBody: boolean;
  private abortUpstream: ((err?: Error) => void) | undefined;
  /** undici's resume is its connection parser's: called only while this exchange holds it paused. */
  private resumeUpstream: (() => void) | undefined;
  private paused = false;
  private done = false;
  private bodyStarted = false;
  private responded = false;
  private retried = false;
  private bodyLeft = 0;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly record: ProxyRecord,
    private readonly t: Target,
    private readonly capture: ExchangeCapture | undefined,
    private readonly finished: () => void,
    private readonly failed: (err: unknown) => void,
  ) {
    this.method = req.method ?? 'GET';
    this.hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  }

  start(): void {
    if (!this.hasBody) this.capture?.requestEnd();
    this.res.once('close', this.onClientClose);
    this.res.on('drain', this.onClientDrain);
    this.t.dispatcher.dispatch(this.options(), this);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.finished();
  }

  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.record.error ??= 'client_gone';
    this.capture?.fail(this.record.error, 'the client closed the connection before the response was complete');
    // Finished before the abort: undici reports the abort to onError at once, which would
    // otherwise take it for the destination's failure and record it as internal.
    this.finish();
    this.abortUpstream?.(new Error('client closed the connection'));
  };

  private readonly onClientDrain = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.resumeUpstream?.();
  };

  private options(): Dispatcher.DispatchOptions {
    const { t, req, record, capture } = this;
    return {
      origin: t.origin,
      path: t.path,
      method: this.method as Dispatcher.HttpMethod,
      headers: t.headers,
      // undici streams any async iterable; its typings only name Readable.
      body: this.hasBody ? (counted(req, record, capture, () => (this.bodyStarted = true)) as unknown as Dispatcher.DispatchOptions['body']) : null,
    };
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    // A retry that starts after the client left.
    if (this.done) abort(new Error('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage: string): boolean {
    this.responded = true;
    if (statusCode < 200) return true;
    const { t, record, res, capture } = this;
    if (t.parent && statusCode === 407) {
      // The parent's 407 is about egresskit's credentials; passed on, it would ask the client for them.
      this.abortUpstream?.(new ProxyError('parent_proxy_auth', `${t.parent.display} answered 407`));
      return false;
    }
    this.resumeUpstream = resume;
    record.status = statusCode;
    notePhase(record, 'ttfb', record.start);
    const head = forwardRawResponseHeaders(rawHeaders);
    this.bodyLeft = bodyLength(this.method, statusCode, head);
    capture?.responseStart(statusCode, statusMessage ?? '', rawFieldPairs(rawHeaders));
    if (statusMessage) res.writeHead(statusCode, statusMessage, head.fields);
    else res.writeHead(statusCode, head.fields);
    return true;
  }

  onData(chunk: Buffer): boolean {
    const { record, res } = this;
    record.bytesDown += chunk.length;
    this.capture?.responseData(chunk);
    this.bodyLeft -= chunk.length;
    // Never pause on the chunk that ends the body: undici's parser would stop before its
    // message-complete step with nothing left unread, so a close from the destination (its
    // keep-alive timer, while a slow client drains) reads as a broken response (keep-alive:
    // "other side closed", the client's tail cut; close-delimited: an assertion in undici 7
    // that kills the process). What is still unread after a pause keeps that close behind
    // it; a close-delimited body never has anything after it, so it is never paused: a slow
    // client of one is buffered here, up to a bound.
    if (res.write(chunk)) return true;
    if (this.bodyLeft > 0) {
      this.paused = true;
      return false;
    }
    if (this.bodyLeft < 0 && res.writableLength > MAX_UNPAUSED_BUFFER) {
      this.abortUpstream?.(new ProxyError('client_slow', `${res.writableLength} bytes of a response without a length were waiting for the client`));
    }
    return true;
  }

  onComplete(trailers: Array<Buffer | string> | null): void {
    const { res } = this;
    const some = trailers !== null && trailers.length > 0;
    if (some) res.addTrailers(trailerObject(trailers));
    this.capture?.responseEnd(some ? rawFieldPairs(trailers) : []);
    res.end();
    this.finish();
  }

  onError(err: Error): void {
    if (this.done) return;
    const { res, record, capture, method } = this;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    // A pooled connection the destination had just closed: sent once more on a new one, as
    // undici and browsers do, when nothing of it can have been acted on twice.
    if (!this.responded && !this.retried && !this.bodyStarted && IDEMPOTENT.has(method) && CONNECTION_LOST.has(code)) {
      this.retried = true;
      // Out of undici's own close handling, which is still on the stack.
      queueMicrotask(() => this.t.dispatcher.dispatch(this.options(), this));
      return;
    }
    if (res.headersSent) {
      const e = toProxyError(err);
      record.error ??= e.code;
      capture?.fail(record.error, e.message);
      res.destroy();
      this.finish();
      return;
    }
    // Nothing reached the client yet: the pipeline answers with the error.
    this.done = true;
    this.failed(err);
  }
}
