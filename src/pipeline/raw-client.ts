import type { Duplex } from 'node:stream';
import type { Destination } from '../model/destination.js';
import type { ProxyRecord } from '../model/record.js';
import { connectViaParent } from '../upstream/parent-proxy.js';
import { UpstreamConnection } from '../upstream/connection.js';
import type { Hop } from './entry.js';

/**
 * A client connection the HTTP server no longer owns (CONNECT, Upgrade): an error on it while
 * the pipeline is still deciding and dialling is noted, not thrown; the hand-off takes over the
 * socket's errors by calling the returned function.
 */
export function watchEarlyErrors(socket: Duplex, record: ProxyRecord): () => void {
  const onEarlyError = () => {
    record.error ??= 'client_reset';
  };
  socket.on('error', onEarlyError);
  return () => socket.off('error', onEarlyError);
}

/** The client can no longer be answered. */
export function socketGone(socket: Duplex): boolean {
  return socket.destroyed || !socket.writable;
}

/** A byte stream to the destination over one hop: the decided address, or a tunnel through the parent. */
export async function dialHop(hop: Hop, dest: Destination, timeoutMs: number): Promise<UpstreamConnection> {
  if (hop.via === 'direct') return UpstreamConnection.dial(hop.ip, hop.port, timeoutMs);
  return UpstreamConnection.wrap(await connectViaParent(hop.parent, dest, timeoutMs));
}
