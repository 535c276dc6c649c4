import type { Duplex } from 'node:stream';
import { MAX_HELLO_BYTES, parseClientHello, type ClientHelloInfo } from '../listeners/client-hello.js';

export { parseClientHello, type ClientHelloInfo };

export interface PeekedHello {
  /** The first byte the client sent: TLS_HANDSHAKE for TLS, anything else for other protocols. */
  first: number;
  /** null when the bytes are not a ClientHello this parser can read. */
  hello: ClientHelloInfo | null;
}

/**
 * Waits until the client's ClientHello has arrived, then puts every byte back so the TLS layer
 * reads them as if nothing happened. `head` holds bytes that came with the CONNECT (not on the
 * socket). Resolves undefined when the client ends or the time runs out before sending anything.
 */
export function peekClientHello(socket: Duplex, head: Buffer, timeoutMs: number): Promise<PeekedHello | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let seen = head;
    const settle = (value: PeekedHello | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      // unshift puts a chunk in front: the last read goes back first.
      for (let i = chunks.length - 1; i >= 0; i--) socket.unshift(chunks[i]!);
      resolve(value);
    };
    /** True once it settled. */
    const check = (): boolean => {
      if (seen.length === 0) return false;
      const r = parseClientHello(seen);
      if (r === 'incomplete' && seen.length <= MAX_HELLO_BYTES) return false;
      settle({ first: seen[0]!, hello: r === 'incomplete' ? null : (r ?? null) });
      return true;
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      seen = seen.length ? Buffer.concat([seen, chunk]) : chunk;
      check();
    };
    const onEnd = () => settle(seen.length ? { first: seen[0]!, hello: null } : undefined);
    const timer = setTimeout(onEnd, timeoutMs);
    if (check()) return;
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    // A socket paused earlier (by the HTTP server that parsed the CONNECT) stays paused otherwise.
    socket.resume();
  });
}
