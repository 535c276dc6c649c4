import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Client } from 'undici';
import type { Config } from '../config/schema.js';
import { ProxyError } from '../model/errors.js';
import { startConnectionTracking } from '../quirks/node-quirks.js';
import { writeResponseError } from '../pipeline/respond.js';
import { runPipeline } from '../pipeline/run.js';
import { answerParseError } from '../pipeline/client-error.js';
import { refuseHead, requestHeadError } from '../pipeline/request-line.js';
import { exchangeEntry } from './exchange-entry.js';
import type { Entry } from '../pipeline/entry.js';
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
    const refused = requestHeadError(req);
    if (refused) return refuseInTunnel(entry.t, req, res, refused);
    onRequest(entry.t, entry.upstream, req, res);
  });
  inner.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const entry = tunnels.get(socket);
    if (!entry) return void socket.destroy();
    const refused = requestHeadError(req);
    if (refused) return refuseInTunnel(entry.t, req, socket, refused);
    relayUpgrade(entry.t, req, socket, head);
  });
  // A request inside the tunnel that the parser refused: answered and recorded as on the proxy's own port.
  inner.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const entry = tunnels.get(socket);
    if (!entry) return void socket.destroy();
    answerParseError(entry.t.ctx, err, socket, () => {
      const record = exchangeRecord(entry.t, undefined);
      record.kind = 'client_error';
      return record;
    });
  });

  /** The same check as on the proxy's own port: never relayed down the tunnel's connection. */
  function refuseInTunnel(t: Tunnel, req: IncomingMessage, client: ServerResponse | Duplex, e: ProxyError): void {
    const record = exchangeRecord(t, req.method);
    record.kind = 'client_error';
    refuseHead(t.ctx, req, client, e, record);
  }

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
    const record = exchangeRecord(t, req.method);
    let path = req.url ?? '/';
    const entry: Entry<Client> = exchangeEntry<Client>(t, record, {
      checkTarget: () => {
        const target = req.url ?? '/';
        if (!target.startsWith('/') && target !== '*') {
          const u = URL.canParse(target) ? new URL(target) : undefined;
          if (!u || !sameAuthority(u.host, t)) throw new ProxyError('misdirected', `request target ${target.slice(0, 100)} inside a tunnel to ${t.authority}`);
          path = `${u.pathname}${u.search}`;
        }
        record.url = exchangeUrl(t, path);
        entry.capture = captureExchange(t, record, path, `HTTP/${req.httpVersion}`, headerPairs(req.rawHeaders));
        const host = req.headers.host;
        if (host !== undefined && !sameAuthority(host, t)) {
          throw new ProxyError('misdirected', `Host ${JSON.stringify(host.slice(0, 100))} inside a tunnel to ${t.authority}`);
        }
      },
      dial: () => (t.upstreamError ? Promise.reject(t.upstreamError) : Promise.resolve(upstream)),
      clientGone: () => req.socket.destroyed,
      close: () => undefined,
      reply: (err) => writeResponseError(res, err, config.auth.realm),
      handOff: (client): Promise<void> => {
        const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, t.authority);
        return relay(req, res, record, { parent: undefined, origin: t.origin, path, headers, dispatcher: client }, entry.capture);
      },
    });
    void runPipeline(t.ctx, entry);
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
