import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import { Client } from 'undici';
import type { Config } from '../config/schema.js';
import type { CaptureHook, ExchangeCapture, HandOff, InterceptHandOff, ProxyContext } from '../core/context.js';
import { formatHostPort, type Destination } from '../core/destination.js';
import { ProxyError } from '../core/errors.js';
import { publishRecord, publishTunnel } from '../core/events.js';
import { failExchange, headerPairs, relay } from '../core/forward-handler.js';
import { forwardRequestHeaders } from '../core/headers.js';
import { newRecord, type ProxyRecord } from '../core/record.js';
import { runTunnel } from '../core/run-tunnel.js';
import { compileHostPattern, matchesAddress, matchesName, type HostPattern } from '../policy/patterns.js';
import type { FlowTls } from './flows/flow.js';
import type { LeafCache } from './leaf-cache.js';
import { connectUpstreamTls, type UpstreamTlsOptions } from './upstream-tls.js';

export interface InterceptorOptions {
  config: Config;
  leaves: LeafCache;
  upstream: UpstreamTlsOptions;
  passthrough: string[];
  capture: CaptureHook;
  /** For the hint when a client refuses the minted certificate. */
  caCertFile: string;
}

type TunnelTls = FlowTls & { upstreamVerified: boolean };

/** One intercepted CONNECT: the client's TLS session and the upstream connection behind it. */
interface Tunnel {
  ctx: ProxyContext;
  dest: Destination;
  /** host[:port] as a URL authority, the port left out when it is 443. */
  authority: string;
  origin: string;
  record: ProxyRecord;
  upstream: Client;
  tls: TunnelTls;
}

export interface Interceptor extends InterceptHandOff {
  closeIdle(): void;
  close(): void;
}

/** SNI and Host compare as the CONNECT host does: lowercase, no trailing dot, no IPv6 brackets. */
function normaliseHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** First byte of a TLS record carrying a handshake (RFC 8446 section 5.1). */
const TLS_HANDSHAKE = 0x16;

/**
 * Waits for the client's first bytes after the 200 and puts them back, so the decision "TLS or
 * not" costs no copy: TLSSocket reads bytes already buffered on the socket before its handle.
 */
function firstByte(socket: Duplex, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const done = (value: number | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      done(chunk[0]);
    };
    const onEnd = () => done(undefined);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/** The client's bytes after CONNECT that arrived with it must reach the TLS layer first. */
function withHead(socket: Duplex, head: Buffer): Duplex {
  socket.unshift(head);
  // A wrapper stream makes TLSSocket read through the stream (where the bytes are), not the handle.
  return Duplex.from({ readable: socket, writable: socket });
}

/**
 * The "intercept" hand-off of the CONNECT pipeline: terminate the client's TLS with a leaf minted
 * for the CONNECT host, refuse a different SNI, and serve the decrypted HTTP/1.1 requests with an
 * inner HTTP server that never listens. Each request goes through the same relay as plain HTTP
 * forwarding, to a per-tunnel upstream connection that re-originates verified TLS over the socket
 * the pipeline already dialed.
 */
export function createInterceptor(o: InterceptorOptions): Interceptor {
  const { config } = o;
  const passthrough: HostPattern[] = o.passthrough.map((p) => compileHostPattern(p));
  const tunnels = new WeakMap<object, Tunnel>();
  const inner = createServer({
    maxHeaderSize: config.limits.maxHeaderBytes,
    requestTimeout: 0,
    headersTimeout: config.timeouts.headers,
    connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(config.timeouts.headers / 4))),
    keepAliveTimeout: config.timeouts.keepAlive,
    insecureHTTPParser: false,
    noDelay: true,
  });
  // Node tracks connections (header deadlines, closeIdleConnections) from 'listening' on; this
  // server is fed sockets with emit('connection') and never listens, so start the tracking here.
  inner.emit('listening');
  inner.on('request', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res));
  inner.on('clientError', (_err: Error, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    setTimeout(() => socket.destroy(), 1000).unref();
  });

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const t = tunnels.get(req.socket);
    if (!t) return void res.destroy();
    const { ctx } = t;
    const record = newRecord(ctx.instance, 'http', t.record.client);
    record.method = req.method;
    record.identity = t.record.identity;
    record.target = t.record.target;
    record.resolved = t.record.resolved;
    record.via = t.record.via;
    record.decision = t.record.decision;
    let capture: ExchangeCapture | undefined;
    try {
      const target = req.url ?? '/';
      let path = target;
      if (!target.startsWith('/') && target !== '*') {
        const u = URL.canParse(target) ? new URL(target) : undefined;
        if (!u || !sameHost(u.hostname, u.port, t.dest)) throw new ProxyError('misdirected', `request target ${target.slice(0, 100)} inside a tunnel to ${t.authority}`);
        path = `${u.pathname}${u.search}`;
      }
      record.url = `https://${t.authority}${path.split('?')[0]}`;
      capture = ctx.capture?.({
        record,
        scheme: 'https',
        host: t.dest.host,
        port: t.dest.port,
        target: path,
        httpVersion: `HTTP/${req.httpVersion}`,
        headers: headerPairs(req.rawHeaders),
        intercepted: true,
        tls: () => ({ ...t.tls }),
      });
      const host = req.headers.host;
      if (host !== undefined) {
        const u = URL.canParse(`https://${host}/`) ? new URL(`https://${host}/`) : undefined;
        if (!u || !sameHost(u.hostname, u.port, t.dest)) {
          throw new ProxyError('misdirected', `Host ${JSON.stringify(host.slice(0, 100))} inside a tunnel to ${t.authority}`);
        }
      }
      const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, t.authority);
      relay(ctx, req, res, record, { parent: undefined, origin: t.origin, path, headers, dispatcher: t.upstream, dest: t.dest }, capture);
    } catch (err) {
      failExchange(ctx, res, record, err, capture);
    }
  }

  function sameHost(hostname: string, port: string, dest: Destination): boolean {
    return normaliseHost(hostname) === dest.host && (port === '' ? 443 : Number(port)) === dest.port;
  }

  function upstreamClient(h: HandOff, tls: TunnelTls): Client {
    let first: Socket | undefined = h.upstream;
    return new Client(`https://${formatHostPort(h.dest.host, h.dest.port)}`, {
      // The pipeline dialed (and policy checked) the address; TLS goes over that socket, and a
      // later reconnect dials the same address again, never the name.
      connect: (_opts, callback) => {
        const raw = first ? Promise.resolve(first) : h.redial();
        first = undefined;
        raw
          .then((socket) => connectUpstreamTls(socket, h.dest, o.upstream))
          .then(
            (socket) => {
              tls.upstreamAlpn = socket.alpnProtocol || undefined;
              tls.upstreamProtocol = socket.getProtocol() ?? undefined;
              tls.upstreamCipher = socket.getCipher()?.name;
              callback(null, socket);
            },
            (err: Error) => callback(err, null),
          );
      },
      keepAliveTimeout: config.timeouts.keepAlive,
      headersTimeout: config.timeouts.idle,
      bodyTimeout: config.timeouts.idle,
    });
  }

  async function run(ctx: ProxyContext, h: HandOff): Promise<void> {
    const { client, dest, record } = h;
    // Not everything sent through CONNECT is TLS (plain HTTP to port 80, SSH...): only a TLS
    // handshake is intercepted; anything else is tunnelled untouched, as a passthrough host is.
    const first = h.head.length ? h.head[0] : await firstByte(client, config.timeouts.headers);
    if (first === undefined) {
      record.error ??= 'client_gone';
      record.errorDetail ??= 'the client sent nothing after CONNECT';
      h.upstream.destroy();
      client.destroy();
      publishRecord(record);
      return;
    }
    if (first !== TLS_HANDSHAKE) {
      await runTunnel(ctx, client, h.upstream, h.head, record);
      return;
    }
    let context: SecureContext;
    try {
      context = o.leaves.get(dest.host);
    } catch (err) {
      record.error = 'leaf_failed';
      record.errorDetail = `cannot mint a certificate for ${dest.host}: ${(err as Error).message}`;
      h.upstream.destroy();
      client.destroy();
      publishRecord(record);
      return;
    }
    let sniRefused: string | undefined;
    const tls: TunnelTls = { upstreamVerified: !o.upstream.insecure };
    const secure = new TLSSocket((h.head.length ? withHead(client, h.head) : client) as Socket, {
      isServer: true,
      secureContext: context,
      // HTTP/2 and WebSocket capture come later; until then clients are held to HTTP/1.1.
      ALPNProtocols: ['http/1.1'],
      SNICallback: (servername, cb) => {
        // No domain fronting around policy: the name inside TLS must be the one policy decided on.
        if (normaliseHost(servername) !== dest.host) {
          sniRefused = servername;
          cb(new Error(`TLS server name ${servername} differs from the CONNECT host ${dest.host}`), undefined);
        } else cb(null, context);
      },
    });
    const upstream = upstreamClient(h, tls);
    const authority = dest.port === 443 ? (isIP(dest.host) === 6 ? `[${dest.host}]` : dest.host) : formatHostPort(dest.host, dest.port);
    const tunnel: Tunnel = { ctx, dest, authority, origin: `https://${formatHostPort(dest.host, dest.port)}`, record, upstream, tls };
    const entry = {
      destroy: () => {
        secure.destroy();
        void upstream.destroy().catch(() => undefined);
      },
    };
    ctx.state.tunnels.add(entry);
    publishTunnel({ instance: ctx.instance, open: true });
    let established = false;
    const handshakeTimer = setTimeout(() => {
      record.error ??= 'client_tls';
      record.errorDetail ??= `no TLS handshake from the client within ${config.timeouts.headers} ms`;
      secure.destroy();
    }, config.timeouts.headers);
    secure.once('secure', () => {
      clearTimeout(handshakeTimer);
      established = true;
      tls.sni = secure.servername || undefined;
      tls.clientAlpn = secure.alpnProtocol || undefined;
      tunnels.set(secure, tunnel);
      secure.setTimeout(config.timeouts.idle);
      inner.emit('connection', secure);
    });
    secure.on('error', (err: NodeJS.ErrnoException) => {
      if (established) {
        record.error ??= err.code ?? 'client_error';
        return;
      }
      if (sniRefused !== undefined) {
        record.error = 'sni_mismatch';
        record.errorDetail = `refused: the client asked for TLS server name ${sniRefused} inside a tunnel to ${dest.host}`;
      } else {
        record.error ??= 'client_tls';
        record.errorDetail ??= `the client ended the TLS handshake (${err.code ?? err.message}); if it does not trust the interception CA, give it ${o.caCertFile} (curl --cacert, NODE_EXTRA_CA_CERTS, SSL_CERT_FILE)`;
      }
    });
    await new Promise<void>((resolve) => secure.once('close', () => resolve()));
    clearTimeout(handshakeTimer);
    client.destroy();
    await upstream.destroy().catch(() => undefined);
    ctx.state.tunnels.delete(entry);
    publishTunnel({ instance: ctx.instance, open: false });
    const raw = client as Duplex & { bytesRead?: number; bytesWritten?: number };
    record.bytesUp = raw.bytesRead ?? 0;
    record.bytesDown = raw.bytesWritten ?? 0;
    publishRecord(record);
  }

  return {
    wants(dest, decision) {
      if (decision?.inspect === 'passthrough') return false;
      const byFlag = passthrough.some((p) => (dest.hostKind === 'name' ? matchesName(p, dest.host) : matchesAddress(p, dest.host)));
      return !byFlag;
    },
    run,
    closeIdle: () => inner.closeIdleConnections(),
    close: () => {
      inner.closeAllConnections();
      // Stops the connection-checking timer; the "not running" error is expected.
      inner.close(() => undefined);
    },
  };
}
