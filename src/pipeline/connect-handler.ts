import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { admissionError, clientAddress } from './admission.js';
import type { ProxyContext } from './context.js';
import { formatHostPort, parseAuthority } from '../model/destination.js';
import { identify } from './identify.js';
import { openUpstream } from './open-upstream.js';
import { newRecord } from '../model/record.js';
import { route } from './route.js';
import { clientGone, onRawSocket, runTunnel } from './run-tunnel.js';

const ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\n');

/** CONNECT host:port: the tunnel every HTTPS client behind a proxy uses. */
export function handleConnect(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const record = newRecord(ctx.instance, 'connect', clientAddress(req.socket));
  record.method = 'CONNECT';
  onRawSocket(ctx, socket, record, async (detachEarlyErrors) => {
    const refused = admissionError(ctx);
    if (refused) throw refused;
    record.identity = await identify(req, ctx);
    const dest = parseAuthority(req.url ?? '');
    record.target = formatHostPort(dest.host, dest.port);
    const r = await route({ dest, identity: record.identity, method: 'CONNECT' }, ctx, record);
    const upstream = await openUpstream(r, dest, ctx.config.timeouts.connect, record);
    if (clientGone(socket, upstream, record)) return;
    detachEarlyErrors();
    socket.write(ESTABLISHED);
    record.status = 200;
    // Inspect mode hands the answered tunnel to interception instead; the pipeline up to here is the same.
    if (ctx.intercept?.wants(dest, record.decision)) {
      const redial = () => openUpstream(r, dest, ctx.config.timeouts.connect, newRecord(ctx.instance, 'connect', record.client));
      await ctx.intercept.run(ctx, { client: socket, upstream, head, record, dest, redial });
      return;
    }
    await runTunnel(ctx, socket, upstream, head, record);
  });
}
