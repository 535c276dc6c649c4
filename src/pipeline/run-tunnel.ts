import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { splice } from '../upstream/tunnel.js';
import type { ProxyContext } from './context.js';
import { toProxyError } from '../model/errors.js';
import { publishRecord, publishTunnel } from '../model/channels.js';
import { failRawExchange } from './fail.js';
import type { ProxyRecord } from '../model/record.js';

/**
 * The shared tail of CONNECT and Upgrade: once the upstream is open and the client has been
 * answered, splice bytes until both sides are done, then publish the one record.
 */
export async function runTunnel(
  ctx: ProxyContext,
  client: Duplex,
  upstream: Socket,
  head: Buffer,
  record: ProxyRecord,
): Promise<void> {
  if (head.length) upstream.write(head);
  const tunnel = { destroy: () => (client.destroy(), upstream.destroy()) };
  ctx.state.tunnels.add(tunnel);
  publishTunnel({ instance: ctx.instance, open: true });
  const result = await splice(client as Socket, upstream, ctx.config.timeouts.idle, head.length);
  ctx.state.tunnels.delete(tunnel);
  publishTunnel({ instance: ctx.instance, open: false });
  record.bytesUp = result.bytesUp;
  record.bytesDown = result.bytesDown;
  if (result.error) record.error = result.error === 'ECONNRESET' ? 'connect_reset' : result.error;
  publishRecord(record);
}

/** True (and the record published) when the client left while the upstream was being opened. */
export function clientGone(client: Duplex, upstream: Socket, record: ProxyRecord): boolean {
  if (!client.destroyed && client.writable) return false;
  upstream.destroy();
  record.error ??= 'client_gone';
  record.errorDetail = 'the client closed the connection before the tunnel was up';
  publishRecord(record);
  return true;
}

/**
 * Runs the setup of a raw-socket exchange (CONNECT, Upgrade). A client reset during setup is
 * recorded, never thrown; any failure becomes an error response and the one record.
 */
export function onRawSocket(
  ctx: ProxyContext,
  socket: Duplex,
  record: ProxyRecord,
  setup: (detachEarlyErrors: () => void) => Promise<void>,
): void {
  const onEarlyError = (err: NodeJS.ErrnoException) => {
    record.error ??= err.code ?? 'client_error';
  };
  socket.on('error', onEarlyError);
  setup(() => socket.off('error', onEarlyError)).catch((err: unknown) => failRawExchange(socket, record, toProxyError(err), ctx.config.auth.realm));
}
