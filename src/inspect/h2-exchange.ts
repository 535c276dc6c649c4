import * as http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { ExchangeCapture } from '../model/exchange.js';
import { errorBody, ProxyError, proxyStatusHeader, toProxyError } from '../model/errors.js';
import { notePhase } from '../model/channels.js';
import { markFailed, type ProxyRecord } from '../model/record.js';
import { fieldPairs } from '../pipeline/headers.js';
import { markServerHandshakeDone } from '../quirks/node-quirks.js';
import type { Entry } from '../pipeline/entry.js';
import { runPipeline } from '../pipeline/run.js';
import { exchangeEntry } from './exchange-entry.js';
import { h2Forward, h2Trailers } from './h2-headers.js';
import { captureExchange, exchangeRecord, exchangeUrl, noteUpstreamTls, sameAuthority, type Tunnel } from './tunnel.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_FLAG_END_STREAM, NGHTTP2_REFUSED_STREAM } = http2.constants;

/**
 * Receive windows (RFC 9113 section 6.9): with the protocol's 64 KiB default the sender stalls
 * after every 64 KiB until the relay has passed it on and sent WINDOW_UPDATE. A 1 GB HTTP/2
 * download here, side by side: 64 KiB windows 220-228 MB/s, 1 MiB per stream and 8 MiB per
 * session 290-299 MB/s (4 and 16 MiB: no better). They also bound what a slow reader can leave
 * buffered in the proxy.
 */
const STREAM_WINDOW = 1024 * 1024;
const SESSION_WINDOW = 8 * 1024 * 1024;

export interface H2Limits {
  maxHeaderBytes: number;
  idleMs: number;
}

/**
 * The tunnel's HTTP/2 connection to the destination: the socket the interceptor already
 * handshook (ALPN h2) first, then, after a GOAWAY or a close, a fresh one to the same address.
 */
interface UpstreamSession {
  (): Promise<http2.ClientHttp2Session>;
  close(): void;
}

function upstreamSession(t: Tunnel, first: TLSSocket | undefined, limits: H2Limits): UpstreamSession {
  let socket = first;
  let pending: Promise<http2.ClientHttp2Session> | undefined;
  let session: http2.ClientHttp2Session | undefined;
  let closed = false;
  const get = () => {
    if (closed) return Promise.reject(new ProxyError('upstream_failed', 'the tunnel is closing'));
    if (session && !session.closed && !session.destroyed) return Promise.resolve(session);
    pending ??= (async () => {
      const tls = socket ?? (await t.connectUpstream(['h2']));
      socket = undefined;
      if (tls.alpnProtocol !== 'h2') {
        tls.destroy();
        throw new ProxyError('upstream_failed', `${t.authority} no longer negotiates h2 (ALPN ${tls.alpnProtocol || 'none'})`);
      }
      noteUpstreamTls(t, tls);
      const s = http2.connect(t.origin, {
        createConnection: () => tls,
        maxHeaderListPairs: 2000,
        settings: { maxHeaderListSize: limits.maxHeaderBytes, initialWindowSize: STREAM_WINDOW },
      });
      s.once('connect', () => s.setLocalWindowSize(SESSION_WINDOW));
      // Stream errors are handled per stream; a session error only ends the session.
      s.on('error', () => undefined);
      s.setTimeout(limits.idleMs, () => s.close());
      session = s;
      if (closed) s.close();
      return s;
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  return Object.assign(get, {
    close() {
      closed = true;
      socket?.destroy();
      session?.close();
    },
  });
}

/**
 * Serves the client's HTTP/2 session inside an intercepted tunnel: every stream is relayed to
 * the destination's own HTTP/2 session with headers, streamed bodies (flow control both ways),
 * trailers and 1xx responses intact, and captured as a flow.
 */
export function serveH2(t: Tunnel, secure: TLSSocket, first: TLSSocket | undefined, limits: H2Limits): http2.ServerHttp2Session {
  const upstream = upstreamSession(t, first, limits);
  markServerHandshakeDone(secure);
  const session = http2.performServerHandshake(secure, {
    maxSessionMemory: 10,
    settings: { maxConcurrentStreams: 100, maxHeaderListSize: limits.maxHeaderBytes, initialWindowSize: STREAM_WINDOW },
  });
  session.once('connect', () => session.setLocalWindowSize(SESSION_WINDOW));
  session.on('error', () => undefined);
  session.setTimeout(limits.idleMs, () => session.close());
  // The listener keeps half-open connections for tunnels, but an HTTP/2 connection has no
  // half-close: a client that ended (curl exits without a GOAWAY) is gone.
  secure.once('end', () => session.destroy());
  session.on('stream', (stream, headers, flags) => onStream(t, upstream, stream, headers, flags));
  session.once('close', () => upstream.close());
  return session;
}

function onStream(
  t: Tunnel,
  upstream: UpstreamSession,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  flags: number,
): void {
  const method = headers[':method'] ?? 'GET';
  const path = headers[':path'] ?? '/';
  const record = exchangeRecord(t, method);
  record.url = exchangeUrl(t, path);
  const requestEnded = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
  const capture: ExchangeCapture | undefined = captureExchange(t, record, path, 'HTTP/2', fieldPairs(headers));
  stream.on('error', () => undefined);
  const entry: Entry<http2.ClientHttp2Session> = exchangeEntry<http2.ClientHttp2Session>(t, record, {
    checkTarget: () => {
      if (method === 'CONNECT') throw new ProxyError('bad_request', 'CONNECT inside an intercepted HTTP/2 tunnel is not supported');
      const authority = headers[':authority'] ?? headers.host;
      if (authority !== undefined && !sameAuthority(authority, t)) {
        throw new ProxyError('misdirected', `:authority ${JSON.stringify(authority.slice(0, 100))} inside a tunnel to ${t.authority}`);
      }
      if (requestEnded) capture?.requestEnd();
    },
    dial: () => (t.upstreamError ? Promise.reject(t.upstreamError) : upstream()),
    clientGone: () => stream.destroyed || stream.closed,
    close: () => undefined,
    reply: (e) => {
      if (stream.destroyed || stream.closed) return;
      if (stream.headersSent) return void stream.close(NGHTTP2_INTERNAL_ERROR);
      stream.respond({ ':status': e.spec.status, 'content-type': 'text/plain; charset=utf-8', 'proxy-status': proxyStatusHeader(e) });
      stream.end(errorBody(e));
    },
    handOff: (session) => relayExchange(t, upstream, session, stream, headers, requestEnded, record, capture),
  });
  entry.capture = capture;
  void runPipeline(t.ctx, entry);
}

/**
 * Relays one stream; settles when it is over. Rejects only while nothing was sent to the
 * client (the pipeline answers then); later failures reset the stream and are noted on the record.
 */
function relayExchange(
  t: Tunnel,
  upstream: UpstreamSession,
  first: http2.ClientHttp2Session,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  requestEnded: boolean,
  record: ProxyRecord,
  capture: ExchangeCapture | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    let up: http2.ClientHttp2Stream | undefined;
    const finish = () => {
      if (done) return false;
      done = true;
      resolve();
      return true;
    };
    const fail = (err: unknown) => {
      if (done) return;
      up?.close(NGHTTP2_CANCEL);
      if (!stream.headersSent && !stream.destroyed && !stream.closed) {
        done = true;
        return reject(err);
      }
      markFailed(record, toProxyError(err, record.resolved), capture);
      if (!stream.destroyed && !stream.closed) stream.close(NGHTTP2_INTERNAL_ERROR);
      finish();
    };
    stream.once('close', () => {
      if (done) return;
      record.error ??= 'client_gone';
      capture?.fail(record.error, 'the client reset the stream before the response was complete');
      up?.close(NGHTTP2_CANCEL);
      finish();
    });
    const start = (session: http2.ClientHttp2Session, retry: boolean) => {
      if (done) return;
      // A stream refused by a session the destination is closing was not processed (RFC 9113
      // section 8.7): a request without a body is sent once more, over a new session.
      const onRefused = retry && requestEnded ? () => void upstream().then((s) => start(s, false), fail) : undefined;
      relayStream(t, session, stream, headers, requestEnded, record, capture, fail, finish, (s) => (up = s), onRefused);
    };
    start(first, true);
  });
}

function relayStream(
  t: Tunnel,
  session: http2.ClientHttp2Session,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  requestEnded: boolean,
  record: ProxyRecord,
  capture: ExchangeCapture | undefined,
  fail: (err: unknown) => void,
  finish: () => boolean,
  setUp: (s: http2.ClientHttp2Stream) => void,
  onRefused: (() => void) | undefined,
): void {
  const out = h2Forward(headers, { via: true });
  out[':authority'] = t.authority;
  const up = session.request(out, { endStream: requestEnded, waitForTrailers: !requestEnded });
  setUp(up);
  up.setTimeout(t.ctx.config.timeouts.idle, () => fail(new ProxyError('upstream_timeout', `no data from ${t.authority} for ${t.ctx.config.timeouts.idle} ms`)));
  let errored = false;
  up.on('error', (err) => {
    errored = true;
    if (onRefused && up.rstCode === NGHTTP2_REFUSED_STREAM && record.status === undefined) onRefused();
    else fail(err);
  });
  // A reset with NO_ERROR or CANCEL before any response emits no 'error': the client's stream
  // would wait for an answer that never comes.
  up.once('close', () => {
    if (!errored && record.status === undefined) fail(new ProxyError('upstream_failed', `${t.authority} closed the stream before answering (code ${up.rstCode})`));
  });

  if (!requestEnded) {
    let requestTrailers: http2.IncomingHttpHeaders | undefined;
    stream.on('trailers', (tr: http2.IncomingHttpHeaders) => (requestTrailers = tr));
    // Without trailers Node sends an empty trailing HEADERS frame with END_STREAM, as it would itself.
    up.on('wantTrailers', () => up.sendTrailers(h2Trailers(requestTrailers)));
    stream.on('data', (chunk: Buffer) => {
      record.bytesUp += chunk.length;
      capture?.requestData(chunk);
    });
    stream.once('end', () => capture?.requestEnd());
    stream.pipe(up);
  }

  // 1xx (100 Continue, 103 Early Hints) are passed on as they come (RFC 9110 section 15.2).
  up.on('headers', (h: http2.IncomingHttpHeaders) => {
    if (!stream.headersSent && !stream.destroyed) stream.additionalHeaders(h2Forward(h, { via: false }));
  });
  let responseTrailers: http2.IncomingHttpHeaders | undefined;
  up.on('trailers', (tr: http2.IncomingHttpHeaders) => (responseTrailers = tr));
  up.once('response', (h: http2.IncomingHttpHeaders, flags: number) => {
    if (stream.destroyed || stream.closed) return;
    const status = Number(h[':status']);
    record.status = status;
    notePhase(record, 'ttfb', record.start);
    capture?.responseStart(status, '', fieldPairs(h));
    const ended = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    stream.respond(h2Forward(h, { via: true }), { endStream: ended, waitForTrailers: !ended });
    if (ended) return;
    stream.on('wantTrailers', () => stream.sendTrailers(h2Trailers(responseTrailers)));
    up.on('data', (chunk: Buffer) => {
      record.bytesDown += chunk.length;
      capture?.responseData(chunk);
    });
    up.pipe(stream);
  });
  up.once('end', () => {
    if (record.status === undefined) return;
    const tr = fieldPairs(responseTrailers ?? {});
    capture?.responseEnd(tr);
    finish();
  });
}
