import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Headers on every UI answer: nothing is cached unless said, sniffed, framed or given a referrer. */
export const BASE_HEADERS: OutgoingHttpHeaders = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, param?: string) => void;
export type Method = 'GET' | 'POST' | 'DELETE';

export interface Route {
  pattern: RegExp;
  methods: Partial<Record<Method, Handler>>;
}

export function send(res: ServerResponse, status: number, body: string | Buffer, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { ...BASE_HEADERS, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendText(res: ServerResponse, status: number, msg: string, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, `${msg}\n`, { 'content-type': 'text/plain; charset=utf-8', ...headers });
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, JSON.stringify(value), { 'content-type': 'application/json; charset=utf-8', ...headers });
}

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
