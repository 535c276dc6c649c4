import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatHostPort, parseAuthority, type Destination } from '../model/destination.js';
import type { ProxyError } from '../model/errors.js';
import { newRecord, type ProxyRecord } from '../model/record.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import { clientAddress } from './admission.js';
import type { ConfigVersion, ProxyContext } from './context.js';
import type { Entry, Hop } from './entry.js';
import { identify, type IdentifySource } from './identify.js';
import { writeRawError } from './respond.js';
import { dialHop, socketGone, watchEarlyErrors } from './raw-client.js';
import { dialRoute, runPipeline } from './run.js';
import { tunnelChecked } from './sni-check.js';
import { refuseHead, requestHeadError } from './request-line.js';

const ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\n');

/** What the entry reads of a CONNECT head: an IncomingMessage, or the head the plain listener read itself. */
export interface ConnectRequest extends IdentifySource {
  /** The request target (host:port). */
  url?: string | undefined;
}

/**
 * CONNECT host:port, the tunnel every HTTPS client behind a proxy uses: target from the
 * authority, answered 200, then tunnelled or intercepted. A class rather than an object of
 * closures: the pipeline holds its entry for the whole life of a tunnel, and idle tunnels are
 * what a proxy holds most of.
 */
class ConnectEntry implements Entry<UpstreamConnection> {
  readonly admit = true;
  readonly method = 'CONNECT';
  readonly record: ProxyRecord;
  private readonly detachEarlyErrors: () => void;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: ConnectRequest,
    private readonly socket: Duplex,
    private readonly head: Buffer,
  ) {
    this.record = newRecord(ctx.instance, 'connect', clientAddress(req.socket));
    this.record.method = 'CONNECT';
    this.detachEarlyErrors = watchEarlyErrors(socket, this.record);
  }

  identify(version: ConfigVersion) {
    return identify(this.req, version);
  }

  target(): Destination {
    const dest = parseAuthority(this.req.url ?? '');
    this.record.target = formatHostPort(dest.host, dest.port);
    return dest;
  }

  dial(hop: Hop, dest: Destination) {
    return dialHop(hop, dest, this.ctx.config.timeouts.connect);
  }

  clientGone() {
    return socketGone(this.socket);
  }

  close(upstream: UpstreamConnection) {
    upstream.destroy();
  }

  reply(err: ProxyError) {
    writeRawError(this.socket, err, this.ctx.config.auth.realm);
  }

  handOff(upstream: UpstreamConnection, { dest, hop }: { dest: Destination; hop: Hop }): Promise<void> {
    const { ctx, socket, head, record } = this;
    this.detachEarlyErrors();
    socket.write(ESTABLISHED);
    record.status = 200;
    if (!ctx.intercept?.wants(dest, record.decision)) {
      if (ctx.intercept) record.intercepted = false;
      return tunnelChecked(ctx, socket, upstream, head, record, dest);
    }
    record.intercepted = true;
    // Interception: a new connection is to the same decided address, never a new lookup.
    const timeout = ctx.config.timeouts.connect;
    const redial = () => dialRoute({ dial: (h) => dialHop(h, dest, timeout) }, { dest, hops: [hop] }, newRecord(ctx.instance, 'connect', record.client)).then((r) => r.upstream);
    return ctx.intercept.run(ctx, { client: socket, upstream, head, record, dest, hop, redial });
  }
}

export function handleConnect(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const refused = requestHeadError(req);
  if (refused) return refuseHead(ctx, req, socket, refused);
  void runPipeline(ctx, new ConnectEntry(ctx, req, socket, head));
}

/**
 * A CONNECT head the plain listener read itself (listeners/connect-head.ts): HTTP/1.x without
 * Transfer-Encoding by construction, so nothing of requestHeadError applies; the same entry.
 */
export function handleConnectHead(ctx: ProxyContext, head: { url: string; proxyAuthorization: string | undefined }, socket: Socket, rest: Buffer): void {
  const req: ConnectRequest = { url: head.url, socket, headers: { 'proxy-authorization': head.proxyAuthorization } };
  void runPipeline(ctx, new ConnectEntry(ctx, req, socket, rest));
}
