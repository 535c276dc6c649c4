import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, proxyStatusHeader, type ProxyError } from '../model/errors.js';

function extraHeaders(err: ProxyError, realm: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (err.spec.status === 407) out.push(['Proxy-Authenticate', `Basic realm="${realm}", charset="UTF-8"`]);
  if (err.spec.status === 429 || err.spec.status === 503) out.push(['Retry-After', '1']);
  return out;
}

/** An error on a connection the HTTP server no longer owns (CONNECT, Upgrade, parse errors). */
export function writeRawError(socket: Duplex, err: ProxyError, realm: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = errorBody(err);
  const status = err.spec.status;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `Proxy-Status: ${proxyStatusHeader(err)}`,
    'Connection: close',
    ...extraHeaders(err, realm).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  // end() waits for the peer to read; a client that never reads must not pin the socket.
  setTimeout(() => socket.destroy(), 5000).unref();
}

export function writeResponseError(res: ServerResponse, err: ProxyError, realm: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(err);
  res.statusCode = err.spec.status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Proxy-Status', proxyStatusHeader(err));
  for (const [k, v] of extraHeaders(err, realm)) res.setHeader(k, v);
  // A refused request may have an unread body; closing avoids reading it as the next request.
  if (err.spec.status >= 400 && err.spec.status !== 407) res.setHeader('Connection', 'close');
  res.end(body);
}
