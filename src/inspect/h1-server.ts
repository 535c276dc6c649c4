import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Client } from 'undici';
import type { Config } from '../config/schema.js';
import type { ExchangeCapture } from '../model/exchange.js';
import { ProxyError } from '../model/errors.js';
import { startConnectionTracking } from '../quirks/node-quirks.js';
import { failExchange } from '../pipeline/fail.js';
import { relay } from '../pipeline/forward-handler.js';
import { forwardRequestHeaders, headerPairs } from '../pipeline/headers.js';
import { captureExchange, exchangeRecord, exchangeUrl, noteUpstreamTls, sameAuthority, type Tunnel } from './tunnel.js';
import { relayUpgrade } from './upgrade-relay.js';

export interface H1Server {
  /** Serves the decrypted HTTP/1.1 connection of a tunnel; its upstream connections come from `t.connectUpstream`. */
  serve(t: Tunnel, secure: TLSSocket): Client;
  closeIdle(): void;
  close(): void;
}

/**
 * One HTTP/1.1 server, never listening, for every intercepted tunnel that speaks HTTP/1.1:
 * Node's parser, keep-alive and header deadlines for free. Each request goes through the same
 * relay as plain HTTP forwarding, to the tunnel's own upstream connection.
 */
export function createH1Server(config: Config): H1Server {
  const tunnels = new WeakMap<object, { t: Tunnel; upstream: Client }>();
  const inner = createServer({
    maxHeaderSize: config.limits.maxHeaderBytes,
    requestTimeout: 0,
    headersTimeout: config.timeouts.headers,
    connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(config.timeouts.headers / 4))),
    keepAliveTimeout: config.timeouts.keepAlive,
    insecureHTTPParser: false,
    noDelay: true,
  });
  // Fed sockets with emit('connection'), never listening: see the quirk.
  startConnectionTracking(inner);
  inner.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const entry = tunnels.get(req.socket);
    if (!entry) return void res.destroy();
    onRequest(entry.t, entry.upstream, req, res);
  });
  inner.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const entry = tunnels.get(socket);
    if (!entry) return void socket.destroy();
    relayUpgrade(entry.t, req, socket, head);
  });
  inner.on('clientError', (_err: Error, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    setTimeout(() => socket.destroy(), 1000).unref();
  });

  function upstreamClient(t: Tunnel): Client {
    return new Client(t.origin, {
      // The pipeline dialed (and policy checked) the address; a reconnect dials the same address, never the name.
      // The tunnel hands out the connection it made first, so a socket is only taken when a request needs one.
      connect: (_opts, callback) => {
        const ready = t.upstreamError ? Promise.reject(t.upstreamError) : t.connectUpstream(['http/1.1']);
        ready.then(
          (tls) => {
            noteUpstreamTls(t, tls);
            callback(null, tls);
          },
          (err: Error) => callback(err, null),
        );
      },
      keepAliveTimeout: config.timeouts.keepAlive,
      headersTimeout: config.timeouts.idle,
      bodyTimeout: config.timeouts.idle,
    });
  }

  function onRequest(t: Tunnel, upstream: Client, req: IncomingMessage, res: ServerResponse): void {
    const { ctx } = t;
    const record = exchangeRecord(t, req.method);
    let capture: ExchangeCapture | undefined;
    try {
      const target = req.url ?? '/';
      let path = target;
      if (!target.startsWith('/') && target !== '*') {
        const u = URL.canParse(target) ? new URL(target) : undefined;
        if (!u || !sameAuthority(u.host, t)) throw new ProxyError('misdirected', `request target ${target.slice(0, 100)} inside a tunnel to ${t.authority}`);
        path = `${u.pathname}${u.search}`;
      }
      record.url = exchangeUrl(t, path);
      capture = captureExchange(t, record, path, `HTTP/${req.httpVersion}`, headerPairs(req.rawHeaders));
      const host = req.headers.host;
      if (host !== undefined && !sameAuthority(host, t)) {
        throw new ProxyError('misdirected', `Host ${JSON.stringify(host.slice(0, 100))} inside a tunnel to ${t.authority}`);
      }
      const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, t.authority);
      relay(ctx, req, res, record, { parent: undefined, origin: t.origin, path, headers, dispatcher: upstream, dest: t.dest }, capture);
    } catch (err) {
      failExchange(ctx, res, record, err, capture);
    }
  }

  return {
    serve(t, secure) {
      const upstream = upstreamClient(t);
      tunnels.set(secure, { t, upstream });
      inner.emit('connection', secure);
      return upstream;
    },
    closeIdle: () => inner.closeIdleConnections(),
    close: () => {
      inner.closeAllConnections();
      // Stops the connection-checking timer; the "not running" error is expected.
      inner.close(() => undefined);
    },
  };
}
