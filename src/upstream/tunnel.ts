import type { Duplex } from 'node:stream';
import { socketErrorCode, type ErrorCode } from '../model/errors.js';
import type { UpstreamConnection } from './connection.js';

export interface TunnelResult {
  /** Client to destination. */
  bytesUp: number;
  /** Destination to client. */
  bytesDown: number;
  /** The first error on either side (the client's own as client_reset), or idle_timeout. */
  error: ErrorCode | undefined;
}

/**
 * Relays both ways until both directions are done, with backpressure; with allowHalfOpen on
 * both sockets a FIN from one side is passed on as end() to the other while the other
 * direction keeps flowing (RFC 9112 section 9.6 tunnels are two independent streams).
 */
export function splice(
  client: Duplex & { bytesRead?: number; bytesWritten?: number },
  conn: UpstreamConnection,
  idleTimeoutMs: number,
  initialUp = 0,
): Promise<TunnelResult> {
  const upstream = conn.socket;
  return new Promise((resolve) => {
    // A side that closed before the splice began emits no 'close' again: nothing can flow.
    if (client.closed || upstream.closed) {
      for (const s of [client, upstream]) s.on('error', () => undefined).destroy();
      return resolve({ bytesUp: initialUp, bytesDown: 0, error: undefined });
    }
    let error: ErrorCode | undefined;
    let closed = 0;
    const clientBase = client.bytesRead ?? 0;
    const upBase = upstream.bytesRead ?? 0;
    const finish = () => {
      if (++closed < 2) return;
      resolve({
        bytesUp: initialUp + (client.bytesRead ?? 0) - clientBase,
        bytesDown: (upstream.bytesRead ?? 0) - upBase,
        error,
      });
    };
    const onError = (side: 'client' | 'upstream') => (err: NodeJS.ErrnoException) => {
      error ??= side === 'client' ? 'client_reset' : socketErrorCode(err);
      client.destroy();
      upstream.destroy();
    };
    const onTimeout = () => {
      error ??= 'idle_timeout';
      client.destroy();
      upstream.destroy();
    };
    client.on('error', onError('client'));
    upstream.on('error', onError('upstream'));
    // A side that closed completely can receive nothing more, and the relay stops reading from
    // the other side once its destination is gone, which would leave it open forever. Let the
    // other side flush what it still owes, then close it too. (A TLS client socket closes as
    // soon as it has ended, unlike a half-open TCP socket.) One 'close' listener per side does
    // both, and the client's bytes are relayed by hand rather than with pipe(): pipe() adds
    // seven listeners and their closures per tunnel, for cleanup that the close already does.
    const onClosed = (other: Duplex) => () => {
      finish();
      if (other.destroyed) return;
      if (other.writableFinished) other.destroy();
      else {
        other.end();
        other.once('finish', () => other.destroy());
      }
    };
    client.once('close', onClosed(upstream));
    upstream.once('close', onClosed(client));
    for (const s of [client, upstream] as Array<Duplex & { setTimeout?: (ms: number, cb?: () => void) => void }>) {
      s.setTimeout?.(idleTimeoutMs);
      s.on('timeout', onTimeout);
    }
    // Client to destination, with backpressure; the client's FIN becomes the destination's.
    client.on('data', (chunk: Buffer) => {
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    client.once('end', () => upstream.end());
    client.resume();
    conn.relayTo(client);
  });
}
