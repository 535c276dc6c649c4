import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { absoluteTarget } from './absolute-target.js';
import { clientAddress } from './admission.js';
import type { ProxyContext } from './context.js';
import { ProxyError } from './errors.js';
import { forwardRequestHeaders } from './headers.js';
import { openUpstream } from './open-upstream.js';
import { newRecord } from './record.js';
import { route } from './route.js';
import { clientGone, onRawSocket, runTunnel } from './run-tunnel.js';

const KEEP_FOR_UPGRADE = new Set(['connection', 'upgrade']);

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
    let text = `${req.method} ${url.pathname}${url.search} HTTP/1.1\r\n`;
    for (let i = 0; i + 1 < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
    upstream.write(`${text}\r\n`);
    record.status = 101;
    await runTunnel(ctx, socket, upstream, head, record);
  });
}
