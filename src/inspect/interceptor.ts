import { isIP, type Socket } from 'node:net';
import type { ServerHttp2Session } from 'node:http2';
import { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext, type TLSSocketOptions } from 'node:tls';
import type { Config } from '../config/schema.js';
import type { HandOff, InterceptHandOff, ProxyContext } from '../pipeline/context.js';
import type { CaptureHook } from '../model/exchange.js';
import { formatHostPort, type Destination } from '../model/destination.js';
import { toProxyError, type ErrorCode } from '../model/errors.js';
import { notePhase, publishTls, publishTunnel } from '../model/channels.js';
import { runTunnel } from '../pipeline/run-tunnel.js';
import type { Decision } from '../model/decision.js';
import { compileHostPattern, matchesAddress, matchesName, type HostPattern } from '../policy/patterns.js';
import { TLS_HANDSHAKE } from '../listeners/tls-front.js';
import { peekClientHello, type ClientHelloInfo } from './client-hello.js';
import { createH1Server } from './h1-server.js';
import { serveH2 } from './h2-exchange.js';
import type { LeafCache } from './leaf-cache.js';
import { serverNameHost, type Tunnel, type TunnelTls } from './tunnel.js';
import { connectUpstreamTls, TlsSessionCache, type UpstreamTlsOptions } from './upstream-tls.js';

export interface InterceptorOptions {
  config: Config;
  leaves: LeafCache;
  upstream: UpstreamTlsOptions;
  passthrough: string[];
  capture: CaptureHook;
  /** For the hint when a client refuses the minted certificate. */
  caCertFile: string;
}

export interface Interceptor extends InterceptHandOff {
  closeIdle(): void;
  close(): void;
}

/** The client's bytes after CONNECT that arrived with it must reach the TLS layer first. */
function withHead(socket: Duplex, head: Buffer): Duplex {
  socket.unshift(head);
  // A wrapper stream makes TLSSocket read through the stream (where the bytes are), not the handle.
  return Duplex.from({ readable: socket, writable: socket });
}


const ignoreError = (): void => undefined;

/**
 * What the decrypted client socket buffers before the relay is told to wait. At Node's 16 KiB
 * one TLS record of a download filled it, so the relay paused and resumed undici once per
 * record and each record went out in its own write: 256 MiB took typically 8-10 thousand write
 * syscalls, at 256 KiB 2-3 thousand (strace -c), a tick's writes corked into one; proxy CPU per
 * GB -19 % (Node 24) / -27 % (Node 20). A bound, not an allocation: an idle tunnel holds no
 * more. The destination's socket keeps Node's default: a larger one there only made undici
 * concatenate bigger reads (CPU per GB +20 %, measured).
 */
const CLIENT_HIGH_WATER_MARK = 256 * 1024;

/** The protocols interception speaks; the order of the client's offer decides between them. */
const SPOKEN = new Set(['h2', 'http/1.1']);

/**
 * The protocols offered to the destination: those of the client's offer that interception
 * speaks, in the client's order, so the destination picks as it would for the client itself.
 * HTTP/1.1 alone when the host is held to it or the client offered nothing usable.
 */
export function upstreamAlpnOffer(client: ClientHelloInfo | null, http1Only: boolean): string[] {
  if (http1Only || !client) return ['http/1.1'];
  const offer = [...new Set(client.alpn.filter((p) => SPOKEN.has(p)))];
  return offer.length > 0 ? offer : ['http/1.1'];
}

/**
 * The "intercept" hand-off of the CONNECT pipeline. It reads the client's ClientHello first
 * (SNI, ALPN), makes the verified TLS connection to the destination offering the same
 * protocols, and only then answers the client with a leaf minted for the CONNECT host and the
 * protocol the destination chose, so each side speaks what it would without the proxy:
 * HTTP/2 end to end, or HTTP/1.1 (with WebSocket upgrades) end to end.
 */
export function createInterceptor(o: InterceptorOptions): Interceptor {
  const { config } = o;
  const patterns = (list: string[]): HostPattern[] => list.map((p) => compileHostPattern(p));
  const passthrough = patterns(o.passthrough);
  const http1Hosts = patterns(config.inspect?.http1 ?? []);
  const matches = (list: HostPattern[], host: string, kind: Destination['hostKind']) =>
    list.some((p) => (kind === 'name' ? matchesName(p, host) : matchesAddress(p, host)));
  const upstreamOptions: UpstreamTlsOptions = { ...o.upstream, sessions: o.upstream.sessions ?? new TlsSessionCache() };
  const h1 = createH1Server(config);
  const h2Sessions = new Set<ServerHttp2Session>();
  const h2Limits = { maxHeaderBytes: config.limits.maxHeaderBytes, idleMs: config.timeouts.idle };

  function giveUp(h: HandOff, error: ErrorCode, detail: string): void {
    h.record.error ??= error;
    h.record.errorDetail ??= detail;
    h.upstream.destroy();
    h.client.destroy();
  }

  async function run(ctx: ProxyContext, h: HandOff): Promise<void> {
    const { client, dest, record } = h;
    const peeked = await peekClientHello(client, h.head, config.timeouts.headers);
    if (!peeked) return giveUp(h, 'client_gone', 'the client sent nothing after CONNECT');
    // Not everything sent through CONNECT is TLS (plain HTTP to port 80, SSH...): only a TLS
    // handshake is intercepted; anything else is tunnelled untouched, as a passthrough host is.
    const sni = peeked.hello?.sni;
    const sniHost = sni === undefined ? undefined : serverNameHost(sni);
    if (peeked.first !== TLS_HANDSHAKE || (sniHost !== undefined && matches(passthrough, sniHost, 'name'))) {
      await runTunnel(ctx, client, h.upstream, h.head, record);
      return;
    }
    let context: SecureContext;
    try {
      const leaf = o.leaves.lookup(dest.host);
      context = leaf.context;
      publishTls({ instance: ctx.instance, event: 'leaf', hit: leaf.hit });
    } catch (err) {
      return giveUp(h, 'leaf_failed', `cannot mint a certificate for ${dest.host}: ${(err as Error).message}`);
    }
    const tls: TunnelTls = { upstreamVerified: !o.upstream.insecure };
    const upstreamHandshake = async (socket: Socket, alpn: string[]): Promise<TLSSocket> => {
      const s = await connectUpstreamTls(socket, dest, upstreamOptions, alpn);
      publishTls({ instance: ctx.instance, event: 'handshake', side: 'upstream', resumed: s.isSessionReused() });
      return s;
    };
    const tunnel: Tunnel = {
      ctx,
      dest,
      authority: dest.port === 443 ? (isIP(dest.host) === 6 ? `[${dest.host}]` : dest.host) : formatHostPort(dest.host, dest.port),
      origin: `https://${formatHostPort(dest.host, dest.port)}`,
      record,
      route: { dest, hops: [h.hop] },
      tls,
      upstreamError: undefined,
      // The connection made before answering the client goes to the first exchange that can use it.
      connectUpstream: (alpn) => {
        const s = claimFirst();
        if (s && !s.destroyed && alpn.includes(s.alpnProtocol || 'http/1.1')) return Promise.resolve(s);
        s?.destroy();
        return h.redial().then((conn) => upstreamHandshake(conn.socket, alpn));
      },
    };
    const sniMismatch = sni !== undefined && sniHost !== dest.host;
    const http1Only = record.decision?.alpn === 'http1' || matches(http1Hosts, dest.host, dest.hostKind);
    const offer = upstreamAlpnOffer(peeked.hello, http1Only);
    let upstreamTls: TLSSocket | undefined;
    // The tunnel owns that first connection until an exchange claims it, and closes it if none
    // does (a handshake-only tunnel, a WebSocket-only one): it would otherwise outlive the tunnel.
    let first: TLSSocket | undefined;
    const claimFirst = (): TLSSocket | undefined => {
      const s = first;
      first = undefined;
      s?.off('error', ignoreError);
      return s;
    };
    if (sniMismatch) h.upstream.destroy();
    else {
      try {
        const started = performance.now();
        upstreamTls = await upstreamHandshake(h.upstream.socket, offer);
        notePhase(record, 'tls', started);
        first = upstreamTls;
        // Unclaimed, nothing else listens: a reset from the destination must not throw.
        first.on('error', ignoreError);
      } catch (err) {
        // The client still gets its TLS session: each request is answered 502 with the reason.
        tunnel.upstreamError = toProxyError(err, formatHostPort(dest.host, dest.port));
      }
    }
    const protocol = upstreamTls ? upstreamTls.alpnProtocol || 'http/1.1' : offer[0]!;
    let sniRefused: string | undefined;
    // highWaterMark: a TLSSocket option since Node 18 that its typings do not list.
    const options: TLSSocketOptions & { highWaterMark: number } = {
      isServer: true,
      highWaterMark: CLIENT_HIGH_WATER_MARK,
      secureContext: context,
      ALPNProtocols: [protocol],
      SNICallback: (servername, cb) => {
        // No domain fronting around policy: the name inside TLS must be the one policy decided on.
        if (serverNameHost(servername) !== dest.host) {
          sniRefused = servername;
          cb(new Error(`TLS server name ${servername} differs from the CONNECT host ${dest.host}`), undefined);
        } else cb(null, context);
      },
    };
    const secure = new TLSSocket((h.head.length ? withHead(client, h.head) : client) as Socket, options);
    let h2: ServerHttp2Session | undefined;
    let closeUpstream: () => void = () => claimFirst()?.destroy();
    const entry = {
      destroy: () => {
        secure.destroy();
        closeUpstream();
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
      publishTls({ instance: ctx.instance, event: 'handshake', side: 'intercept', resumed: secure.isSessionReused() });
      tls.sni = secure.servername || undefined;
      tls.clientAlpn = secure.alpnProtocol || undefined;
      secure.setTimeout(config.timeouts.idle);
      if (secure.alpnProtocol === 'h2') {
        h2 = serveH2(tunnel, secure, claimFirst(), h2Limits);
        h2Sessions.add(h2);
        closeUpstream = () => h2?.destroy();
      } else {
        const upstream = h1.serve(tunnel, secure);
        closeUpstream = () => {
          claimFirst()?.destroy();
          void upstream.destroy().catch(() => undefined);
        };
      }
    });
    secure.on('error', (err: NodeJS.ErrnoException) => {
      if (established) {
        record.error ??= 'client_reset';
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
    closeUpstream();
    if (h2) h2Sessions.delete(h2);
    ctx.state.tunnels.delete(entry);
    publishTunnel({ instance: ctx.instance, open: false });
    const raw = client as Duplex & { bytesRead?: number; bytesWritten?: number };
    record.bytesUp = raw.bytesRead ?? 0;
    record.bytesDown = raw.bytesWritten ?? 0;
  }

  return {
    wants(dest: Destination, decision: Decision | undefined) {
      if (decision?.inspect === 'passthrough') return false;
      return !matches(passthrough, dest.host, dest.hostKind);
    },
    run,
    closeIdle: () => {
      h1.closeIdle();
      // GOAWAY: streams in flight finish, no new ones start (RFC 9113 section 6.8).
      for (const s of h2Sessions) s.close();
    },
    close: () => {
      h1.close();
      for (const s of h2Sessions) s.destroy();
    },
  };
}
