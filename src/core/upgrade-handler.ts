import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { admissionError, clientAddress } from './admission.js';
import type { ProxyContext } from './context.js';
import { formatHostPort, parseAbsoluteUri } from './destination.js';
import { ProxyError } from './errors.js';
import { forwardRequestHeaders } from './headers.js';
import { identify } from './identify.js';
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
    const refused = admissionError(ctx);
    if (refused) throw refused;
    const target = req.url ?? '';
    if (target.startsWith('/')) throw new ProxyError('not_a_proxy_request', `got an Upgrade for ${target.slice(0, 100)}`);
    record.identity = await identify(req, ctx);
    const { dest, url } = parseAbsoluteUri(target);
    if (url.protocol !== 'http:' && url.protocol !== 'ws:') {
      throw new ProxyError('bad_target', `${url.protocol} upgrades must go through a CONNECT tunnel`);
    }
    record.target = formatHostPort(dest.host, dest.port);
    record.url = `${url.protocol}//${url.host}${url.pathname}`;
    const r = await route({ dest, identity: record.identity, method: req.method ?? 'GET' }, ctx, record);
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
