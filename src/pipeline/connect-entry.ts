import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { formatHostPort, parseAuthority } from '../model/destination.js';
import { newRecord } from '../model/record.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import { clientAddress } from './admission.js';
import type { ProxyContext } from './context.js';
import { identify } from './identify.js';
import { writeRawError } from './respond.js';
import { dialHop, socketGone, watchEarlyErrors } from './raw-client.js';
import { dialRoute, runPipeline } from './run.js';
import { runTunnel } from './run-tunnel.js';

const ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\n');

/** CONNECT host:port, the tunnel every HTTPS client behind a proxy uses: target from the authority, answered 200, then tunnelled or intercepted. */
export function handleConnect(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const record = newRecord(ctx.instance, 'connect', clientAddress(req.socket));
  record.method = 'CONNECT';
  const detachEarlyErrors = watchEarlyErrors(socket, record);
  const timeout = ctx.config.timeouts.connect;
  void runPipeline<UpstreamConnection>(ctx, {
    record,
    admit: true,
    method: 'CONNECT',
    identify: () => identify(req, ctx),
    target: () => {
      const dest = parseAuthority(req.url ?? '');
      record.target = formatHostPort(dest.host, dest.port);
      return dest;
    },
    dial: (hop, dest) => dialHop(hop, dest, timeout),
    clientGone: () => socketGone(socket),
    close: (upstream) => upstream.destroy(),
    reply: (err) => writeRawError(socket, err, ctx.config.auth.realm),
    handOff: async (upstream, { dest, hop }) => {
      detachEarlyErrors();
      socket.write(ESTABLISHED);
      record.status = 200;
      if (!ctx.intercept?.wants(dest, record.decision)) return runTunnel(ctx, socket, upstream, head, record);
      // Interception: a new connection is to the same decided address, never a new lookup.
      const redial = () => dialRoute({ dial: (h) => dialHop(h, dest, timeout) }, { dest, hops: [hop] }, newRecord(ctx.instance, 'connect', record.client)).then((r) => r.upstream);
      return ctx.intercept.run(ctx, { client: socket, upstream, head, record, dest, hop, redial });
    },
  });
}
