import { request, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ExchangeCapture } from '../core/context.js';
import { ProxyError, toProxyError } from '../core/errors.js';
import { publishRecord } from '../core/events.js';
import { headerPairs } from '../core/forward-handler.js';
import { forwardRequestHeaders } from '../core/headers.js';
import { markFailed } from '../core/record.js';
import { writeRawError } from '../core/respond.js';
import { runTunnel } from '../core/run-tunnel.js';
import { exchangeRecord, exchangeUrl, noteUpstreamTls, sameAuthority, type Tunnel } from './tunnel.js';
import { captureWebSocket } from './ws-capture.js';

const KEEP_FOR_UPGRADE = new Set(['connection', 'upgrade']);

function headText(status: number, statusMessage: string | undefined, raw: string[], drop: Set<string> = new Set()): string {
  let text = `HTTP/1.1 ${status} ${statusMessage || STATUS_CODES[status] || ''}\r\n`;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!drop.has(raw[i]!.toLowerCase())) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return text;
}

/**
 * An Upgrade (WebSocket) inside an intercepted HTTP/1.1 tunnel: the request goes to the
 * destination over a fresh verified TLS connection; its 101 reaches the client unchanged and
 * from then on frames are relayed byte for byte while a parser beside the stream captures the
 * messages. A refusal (401, 403...) is passed on as a normal response and captured as one.
 */
export function relayUpgrade(t: Tunnel, req: IncomingMessage, client: Duplex, head: Buffer): void {
  const { ctx } = t;
  const path = req.url ?? '/';
  const record = exchangeRecord(t, req.method);
  record.kind = 'upgrade';
  record.url = exchangeUrl(t, path);
  const capture: ExchangeCapture | undefined = ctx.capture?.({
    record,
    scheme: 'https',
    host: t.dest.host,
    port: t.dest.port,
    target: path,
    httpVersion: `HTTP/${req.httpVersion}`,
    headers: headerPairs(req.rawHeaders),
    intercepted: true,
    tls: () => ({ ...t.tls }),
  });
  capture?.requestEnd();
  const fail = (err: unknown) => {
    const e = toProxyError(err, record.resolved);
    markFailed(record, e);
    capture?.fail(e.code, e.message);
    writeRawError(client, e, ctx.config.auth.realm);
    publishRecord(record);
  };
  client.on('error', (err: NodeJS.ErrnoException) => (record.error ??= err.code ?? 'client_error'));
  if (t.upstreamError) return fail(t.upstreamError);
  if (!path.startsWith('/')) return fail(new ProxyError('misdirected', `request target ${path.slice(0, 100)} in an Upgrade inside a tunnel to ${t.authority}`));
  if (req.headers.host !== undefined && !sameAuthority(req.headers.host, t.dest)) {
    return fail(new ProxyError('misdirected', `Host ${JSON.stringify(req.headers.host.slice(0, 100))} inside a tunnel to ${t.authority}`));
  }
  t.connectUpstream(['http/1.1']).then((tls) => {
    noteUpstreamTls(t, tls);
    if (client.destroyed) {
      tls.destroy();
      record.error ??= 'client_gone';
      capture?.fail(record.error, 'the client left before the upstream answered');
      publishRecord(record);
      return;
    }
    const up = request({
      createConnection: () => tls,
      method: req.method,
      path,
      headers: forwardRequestHeaders(req.rawHeaders, req.headers.connection, t.authority, KEEP_FOR_UPGRADE),
      setHost: false,
      timeout: ctx.config.timeouts.idle,
    });
    up.on('timeout', () => up.destroy(new ProxyError('upstream_timeout', `${t.authority} did not answer the Upgrade within ${ctx.config.timeouts.idle} ms`)));
    up.on('error', fail);
    up.on('upgrade', (res: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
      up.removeListener('error', fail);
      record.status = 101;
      capture?.responseStart(101, res.statusMessage ?? '', headerPairs(res.rawHeaders));
      client.write(`${headText(101, res.statusMessage, res.rawHeaders)}\r\n`);
      if (upHead.length) client.write(upHead);
      const isWebSocket = String(res.headers.upgrade ?? '').toLowerCase() === 'websocket';
      if (capture && isWebSocket) {
        const deflate = /permessage-deflate/i.test(String(res.headers['sec-websocket-extensions'] ?? ''));
        captureWebSocket(capture, deflate, client, upSocket, head, upHead);
      }
      void runTunnel(ctx, client, upSocket as Socket, head, record).then(() => {
        record.bytesDown += upHead.length;
        capture?.responseEnd([]);
      });
    });
    up.on('response', (res: IncomingMessage) => relayRefusal(t, res, client, record, capture));
    up.end();
  }, fail);
}

/** The destination declined the Upgrade: its response goes to the client, close-delimited. */
function relayRefusal(t: Tunnel, res: IncomingMessage, client: Duplex, record: ReturnType<typeof exchangeRecord>, capture: ExchangeCapture | undefined): void {
  const status = res.statusCode ?? 502;
  record.status = status;
  capture?.responseStart(status, res.statusMessage ?? '', headerPairs(res.rawHeaders));
  // Node decoded the body's framing; it is re-sent close-delimited (RFC 9112 section 6.3).
  client.write(`${headText(status, res.statusMessage, res.rawHeaders, new Set(['transfer-encoding', 'content-length', 'connection', 'keep-alive']))}Connection: close\r\n\r\n`);
  res.on('data', (chunk: Buffer) => {
    record.bytesDown += chunk.length;
    capture?.responseData(chunk);
    if (!client.write(chunk)) res.pause();
  });
  client.on('drain', () => res.resume());
  res.once('end', () => {
    capture?.responseEnd(headerPairs(res.rawTrailers));
    client.end();
    publishRecord(record);
  });
  res.once('error', (err) => {
    record.error ??= toProxyError(err, t.authority).code;
    capture?.fail(record.error, toProxyError(err, t.authority).message);
    client.destroy();
    publishRecord(record);
  });
}
