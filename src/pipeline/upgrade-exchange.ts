import { request, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { notePhase } from '../model/channels.js';
import { ProxyError, toProxyError } from '../model/errors.js';
import type { ExchangeCapture } from '../model/exchange.js';
import type { ProxyRecord } from '../model/record.js';
import { UpstreamConnection } from '../upstream/connection.js';
import type { ProxyContext } from './context.js';
import { headerPairs, httpHead } from './headers.js';
import { runTunnel } from './run-tunnel.js';

function statusLine(status: number, message: string | undefined): string {
  return `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}`;
}

export interface UpgradeExchange {
  path: string;
  /** Request fields to send, Connection and Upgrade kept. */
  headers: string[];
  record: ProxyRecord;
  capture: ExchangeCapture;
  /** Names the destination in messages. */
  where: string;
}

/**
 * The hand-off of an Upgrade that is captured (inspect mode): the request goes over `upstream`
 * and the response is parsed, so the flow knows the status and headers. A 101 reaches the
 * client unchanged and from then on bytes are spliced as in any tunnel, with the capture
 * looking on (`capture.upgraded`); a refusal (401, 403...) is passed on as a normal response.
 * Rejects only while nothing was sent to the client (the pipeline then answers with the error).
 */
export function upgradeExchange(ctx: ProxyContext, client: Duplex, head: Buffer, upstream: Duplex, x: UpgradeExchange): Promise<void> {
  const { record, capture } = x;
  const timeout = ctx.config.timeouts.idle;
  return new Promise((resolve, reject) => {
    const up = request({ createConnection: () => upstream as Socket, method: record.method, path: x.path, headers: x.headers, setHost: false, timeout });
    up.on('timeout', () => up.destroy(new ProxyError('upstream_timeout', `${x.where} did not answer the Upgrade within ${timeout} ms`)));
    up.on('error', reject);
    up.on('upgrade', (res: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
      up.removeListener('error', reject);
      record.status = 101;
      notePhase(record, 'ttfb', record.start);
      const headers = headerPairs(res.rawHeaders);
      capture.responseStart(101, res.statusMessage ?? '', headers);
      client.write(`${httpHead(statusLine(101, res.statusMessage), res.rawHeaders)}\r\n`);
      if (upHead.length) client.write(upHead);
      capture.upgraded?.({ client, upstream: upSocket, clientHead: head, upstreamHead: upHead, headers });
      void runTunnel(ctx, client, UpstreamConnection.wrap(upSocket), head, record).then(() => {
        capture.responseEnd([]);
        resolve();
      });
    });
    up.on('response', (res: IncomingMessage) => {
      notePhase(record, 'ttfb', record.start);
      relayRefusal(res, client, x, resolve);
    });
    up.end();
  });
}

/** The destination declined the Upgrade: its response goes to the client, close-delimited. */
function relayRefusal(res: IncomingMessage, client: Duplex, x: UpgradeExchange, done: () => void): void {
  const { record, capture } = x;
  const status = res.statusCode ?? 502;
  record.status = status;
  capture.responseStart(status, res.statusMessage ?? '', headerPairs(res.rawHeaders));
  // Node decoded the body's framing; it is re-sent close-delimited (RFC 9112 section 6.3).
  const drop = new Set(['transfer-encoding', 'content-length', 'connection', 'keep-alive']);
  client.write(`${httpHead(statusLine(status, res.statusMessage), res.rawHeaders, drop)}Connection: close\r\n\r\n`);
  res.on('data', (chunk: Buffer) => {
    record.bytesDown += chunk.length;
    capture.responseData(chunk);
    if (!client.write(chunk)) res.pause();
  });
  client.on('drain', () => res.resume());
  res.once('end', () => {
    capture.responseEnd(headerPairs(res.rawTrailers));
    client.end();
    done();
  });
  res.once('error', (err) => {
    const e = toProxyError(err, x.where);
    record.error ??= e.code;
    capture.fail(e.code, e.message);
    client.destroy();
    done();
  });
}
