import { createServer, type Server, type Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { keepPeerAddress } from '../quirks/node-quirks.js';

/** First byte of a TLS record carrying a handshake (RFC 8446 section 5.1). */
export const TLS_HANDSHAKE = 0x16;

/**
 * The socket that accepts connections for a TLS listener. It looks at the first byte: a TLS
 * handshake goes to the TLS server; anything else (usually plain HTTP from a client configured
 * with http:// instead of https://) gets a readable answer instead of a silent reset.
 */
export function createTlsFront(
  tlsServer: TlsServer,
  firstByteTimeoutMs: number,
  onNotTls: (socket: Socket, firstBytes: Buffer) => void,
): Server {
  const front = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    // A refused handshake is logged with the client's address: see the quirk.
    keepPeerAddress(socket);
    socket.setTimeout(firstByteTimeoutMs, () => socket.destroy());
    socket.once('error', () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.removeAllListeners('error');
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE) tlsServer.emit('connection', socket);
      else onNotTls(socket, chunk);
    });
    socket.resume();
  });
  // The TLS server is fed, never listens: closed with the front, it stops the timers it started
  // (header-deadline checks); "not running" is expected.
  front.once('close', () => tlsServer.close(() => undefined));
  return front;
}
