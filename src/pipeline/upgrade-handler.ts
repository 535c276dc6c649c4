import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { absoluteTarget } from './absolute-target.js';
import { clientAddress } from './admission.js';
import type { ProxyContext } from './context.js';
import { ProxyError } from '../model/errors.js';
import { forwardRequestHeaders, headerPairs, httpHead, KEEP_FOR_UPGRADE } from './headers.js';
import { openUpstream } from './open-upstream.js';
import { newRecord } from '../model/record.js';
import { upgradeExchange } from './upgrade-exchange.js';
import { readableView, readsIntoSharedBuffer } from '../upstream/fast-read.js';
import { route } from './route.js';
import { clientGone, onRawSocket, runTunnel } from './run-tunnel.js';

/**
 * Upgrade over plain HTTP (ws:// through the proxy as GET http://host/ with Upgrade): the
 * request is replayed in origin-form to the destination and from then on bytes are spliced
 * like a CONNECT tunnel; the destination's 101 (or refusal) reaches the client unchanged.
 */
export function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const record = newRecord(ctx.instance, 'upgrade', clientAddress(req.socket));
  record.method = req.method;
  onRawSocket(ctx, socket, record, async (detachEarlyErrors) => {
    const { dest, url, identity } = await absoluteTarget(ctx, req, record, 'an Upgrade');
    if (url.protocol !== 'http:' && url.protocol !== 'ws:') {
      throw new ProxyError('bad_target', `${url.protocol} upgrades must go through a CONNECT tunnel`);
    }
    const r = await route({ dest, identity, method: req.method ?? 'GET' }, ctx, record);
    const upstream = await openUpstream(r, dest, ctx.config.timeouts.connect, record);
    if (clientGone(socket, upstream, record)) return;
    detachEarlyErrors();
    const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, url.host, KEEP_FOR_UPGRADE);
    const path = `${url.pathname}${url.search}`;
    // Inspect mode parses the response so the flow has its status and the messages that follow.
    const capture = ctx.capture?.({
      record,
      scheme: 'http',
      host: dest.host,
      port: dest.port,
      target: req.url ?? '',
      httpVersion: `HTTP/${req.httpVersion}`,
      headers: headerPairs(req.rawHeaders),
      intercepted: false,
    });
    if (capture) {
      capture.requestEnd();
      const view = readsIntoSharedBuffer(upstream) ? readableView(upstream) : upstream;
      upgradeExchange(ctx, socket, head, view, { path, headers, record, capture, where: url.host });
      return;
    }
    upstream.write(`${httpHead(`${req.method} ${path} HTTP/1.1`, headers)}\r\n`);
    record.status = 101;
    await runTunnel(ctx, socket, upstream, head, record);
  });
}
