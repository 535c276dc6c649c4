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
 * Rejects only while nothing was sent to the client (the pipeline then answers with the error):
 * a destination silent for `timeouts.idle` (504). A client that leaves before the answer, or
 * a cut after a refusal's head was sent, is recorded and resolves. The caller keeps an 'error'
 * listener on the client until this settles.
 */
export function upgradeExchange(ctx: ProxyContext, client: Duplex, head: Buffer, upstream: Duplex, x: UpgradeExchange): Promise<void> {
  const { record, capture } = x;
  const timeout = ctx.config.timeouts.idle;
  return new Promise((resolve, reject) => {
    // 'waiting' for the destination's answer; 'refusal' while its response is relayed; 'done'.
    let state: 'waiting' | 'refusal' | 'done' = 'waiting';
    const up = request({ createConnection: () => upstream as Socket, method: record.method, path: x.path, headers: x.headers, setHost: false });
    const settle = () => {
      state = 'done';
      clearTimeout(timer);
      client.off('close', onClientClose);
      client.off('end', onClientEnd);
    };
    const fail = (e: ProxyError) => {
      if (state === 'done') return;
      settle();
      if (record.error === undefined) [record.error, record.errorDetail] = [e.code, e.detail];
      capture.fail(e.code, e.message);
      up.destroy();
      client.destroy();
      resolve();
    };
    // Node arms a request's `timeout` only on sockets it created, never on createConnection's.
    const timer = setTimeout(() => up.destroy(new ProxyError('upstream_timeout', `${x.where} did not answer the Upgrade within ${timeout} ms`)), timeout);
    const onClientClose = () => fail(new ProxyError('client_gone', `the client closed the connection before ${x.where} answered the Upgrade`));
    // A client that sends its FIN before the answer has left: it could not speak the protocol
    // it asked for (and a half-open socket would never 'close', nor pass the FIN on later).
    const onClientEnd = () => (state === 'waiting' ? onClientClose() : undefined);
    client.once('close', onClientClose);
    client.once('end', onClientEnd);
    up.on('error', (err) => {
      if (state === 'waiting') {
        settle();
        reject(err);
      } else fail(toProxyError(err, x.where));
    });
    up.on('upgrade', (res: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
      if (state !== 'waiting') return void upSocket.destroy();
      settle();
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
      if (state !== 'waiting') return void res.destroy();
      state = 'refusal';
      clearTimeout(timer);
      notePhase(record, 'ttfb', record.start);
      relayRefusal(res, client, x, () => {
        if (state === 'done') return;
        settle();
        resolve();
      }, fail);
    });
    if (client.destroyed || client.readableEnded) onClientClose();
    else up.end();
  });
}

/** The destination declined the Upgrade: its response goes to the client, close-delimited. */
function relayRefusal(res: IncomingMessage, client: Duplex, x: UpgradeExchange, done: () => void, fail: (e: ProxyError) => void): void {
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
  // From here on the client has a response head: a cut is recorded, never answered again.
  res.once('error', (err) => fail(toProxyError(err, x.where)));
}
