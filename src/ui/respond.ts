import type { IncomingMessage } from 'node:http';

// The reply helpers and route types are shared with the list routes (http-reply.ts, routes.ts).
export { BASE_HEADERS, send, sendJson, sendText } from './http-reply.js';
export type { Handler, Route, RouteMethod as Method } from './routes.js';

/** The whole request body, or an error once it passes maxBytes (the rest is not read). */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(new BodyTooLarge(maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        // Read on and drop the rest, so the 413 still reaches the client.
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge(maxBytes));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

export class BodyTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the request body is larger than ${maxBytes} bytes`);
  }
}

/** JSON writes must say so: a cross-site form cannot send application/json without a CORS preflight. */
export function isJsonRequest(req: IncomingMessage): boolean {
  return /^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '');
}
