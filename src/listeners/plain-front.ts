import { createServer, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { createHeadReader, type HeadHandlers, type Waiting } from './head-reader.js';

export { checkEvery, type Waiting } from './head-reader.js';
export type PlainFrontHandlers = HeadHandlers;

/**
 * The plain proxy port. A new tunnel is the proxy's most frequent operation: this listener
 * reads the first bytes itself (head-reader.ts); a plain CONNECT head goes straight to the
 * CONNECT entry, anything else goes to the HTTP server, which is fed and never listens.
 */
export function createPlainFront(
  httpServer: HttpServer,
  limits: { maxHeaderBytes: number; headersTimeoutMs: number },
  handlers: PlainFrontHandlers,
): { front: Server; waiting: Map<Socket, Waiting> } {
  const reader = createHeadReader(limits, handlers, (socket) => httpServer.emit('connection', socket));
  // allowHalfOpen as Node's HTTP server: a tunnel passes one side's FIN on and keeps the other direction.
  const front = createServer({ allowHalfOpen: true, noDelay: true }, reader.read);
  // The HTTP server is fed, never listens: closed with the front, it stops its header-deadline checks.
  front.once('close', () => {
    reader.stop();
    httpServer.close(() => undefined);
  });
  return { front, waiting: reader.waiting };
}
