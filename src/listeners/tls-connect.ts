import type { Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createHeadReader, type HeadHandlers, type HeadReader } from './head-reader.js';

/**
 * The mtls port reads a CONNECT head on the decrypted socket itself, as the plain front does
 * (head-reader.ts): the HTTPS server still makes the TLS handshake (its context, ticket keys and
 * 'tlsClientError'), but its HTTP side (a parser, an IncomingMessage held for the tunnel's life,
 * tracking per connection) gets only what is not a plain CONNECT head, with every byte read
 * pushed back.
 *
 * Node's https.Server registers its HTTP connection listener as the first 'secureConnection'
 * listener (tls.Server(options, listener) in lib/https.js); it is taken off here and called by
 * the reader instead. `admit` runs first on each socket and may refuse it (false: it has been
 * dealt with, nothing is read).
 */
export function readConnectOverTls(
  server: HttpsServer,
  limits: { maxHeaderBytes: number; headersTimeoutMs: number },
  handlers: HeadHandlers,
  admit: (socket: TLSSocket) => boolean,
): HeadReader {
  const [httpListener] = server.listeners('secureConnection') as Array<(socket: TLSSocket) => void>;
  if (!httpListener) throw new Error('readConnectOverTls: the HTTPS server has no connection listener');
  server.off('secureConnection', httpListener);
  const reader = createHeadReader(limits, handlers, (socket) => httpListener.call(server, socket as TLSSocket));
  server.on('secureConnection', (socket: TLSSocket) => {
    if (admit(socket)) reader.read(socket);
  });
  return reader;
}
