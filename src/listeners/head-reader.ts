import type { Socket } from 'node:net';
import { scanConnectHead, type ConnectHead } from './connect-head.js';

/** A connection whose head is not complete yet. */
export interface Waiting {
  /** performance.now() when it was accepted: the header timeout counts from there. */
  since: number;
  /** The header timeout has passed: answered as Node's server answers it (408). */
  expire(): void;
}

/**
 * Reads a head may take here. Each read rescans the bytes so far (scanConnectHead is not
 * incremental), so a head trickled a byte at a time would cost the square of its length; a
 * client that needs more reads than this is handed to Node's HTTP server, whose parser is
 * incremental. Real clients send a CONNECT head in one or two reads.
 */
const MAX_READS = 8;

/** How often header deadlines are checked: the same tick as the HTTP server's (create-server.ts). */
export function checkEvery(headersTimeoutMs: number): number {
  return Math.max(100, Math.min(5000, Math.floor(headersTimeoutMs / 4)));
}

export interface HeadHandlers {
  /** A CONNECT head read here: `rest` is what the client sent after it (the tunnel's first bytes). */
  connect(socket: Socket, head: ConnectHead, rest: Buffer): void;
  /**
   * The head could not be read: the error code Node's HTTP server gives its 'clientError' in the
   * same case (ERR_HTTP_REQUEST_TIMEOUT: no complete head within the header timeout;
   * HPE_INVALID_EOF_STATE: the client ended the connection within a head).
   */
  clientError(socket: Socket, code: 'ERR_HTTP_REQUEST_TIMEOUT' | 'HPE_INVALID_EOF_STATE'): void;
}

export interface HeadReader {
  /** Reads the first bytes of a connection (plain, or a TLS socket after its handshake). */
  read(socket: Socket): void;
  /** Connections whose head is not read yet (a drain closes them, as the HTTP server closes its idle ones). */
  waiting: Map<Socket, Waiting>;
  /** Stops the header-deadline sweep. */
  stop(): void;
}

/**
 * A CONNECT head read without Node's HTTP server, which spends more per connection (parser,
 * IncomingMessage, timers and tracking) than the rest of a CONNECT costs: a plain CONNECT head
 * (connect-head.ts) goes straight to the CONNECT entry; anything else goes to `toHttp` with
 * every byte read pushed back, as if the HTTP server had been given the connection itself.
 *
 * The header timeout runs here until the head is read or handed on; the HTTP server starts its
 * own when it is given the connection (see the README: a client's time before its first byte
 * is then not counted against it there).
 */
export function createHeadReader(
  limits: { maxHeaderBytes: number; headersTimeoutMs: number },
  handlers: HeadHandlers,
  toHttp: (socket: Socket) => void,
): HeadReader {
  const waiting = new Map<Socket, Waiting>();
  const read = (socket: Socket) => {
    let buf: Buffer | undefined;
    let reads = 0;
    const stop = () => {
      waiting.delete(socket);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.pause();
    };
    const handOn = () => {
      stop();
      if (buf) socket.unshift(buf);
      toHttp(socket);
      // The server reads the socket itself from now on; the bytes pushed back reach its parser
      // first, as 'data' once the socket flows again.
      socket.resume();
    };
    const onData = (chunk: Buffer) => {
      buf = buf ? Buffer.concat([buf, chunk]) : chunk;
      const scan = scanConnectHead(buf, limits.maxHeaderBytes);
      if (scan.kind === 'more' && ++reads < MAX_READS) return;
      if (scan.kind !== 'connect') return handOn();
      stop();
      handlers.connect(socket, scan.head, buf.subarray(scan.end));
    };
    // A reset before the head: nothing to answer or record (the HTTP server does the same).
    const onError = () => {
      stop();
      socket.destroy();
    };
    // A FIN before the head is complete: the HTTP server answers what it makes of the bytes.
    const onEnd = () => {
      if (!buf) return onError();
      stop();
      handlers.clientError(socket, 'HPE_INVALID_EOF_STATE');
    };
    waiting.set(socket, {
      since: performance.now(),
      expire: () => {
        stop();
        handlers.clientError(socket, 'ERR_HTTP_REQUEST_TIMEOUT');
      },
    });
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('end', onEnd);
  };
  // One sweep for all connections, as Node's HTTP server checks its header deadlines: a timer
  // per connection cost more than reading its head.
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const w of waiting.values()) if (now - w.since >= limits.headersTimeoutMs) w.expire();
  }, checkEvery(limits.headersTimeoutMs));
  sweep.unref();
  return { read, waiting, stop: () => clearInterval(sweep) };
}
