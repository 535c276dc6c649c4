import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config/schema.js';
import type { createInterception, InterceptionCA } from '../inspect/interception.js';
import { createProxyServer, type ListenerSpec } from '../listeners/create-server.js';
import { isHandshakeError, tlsFailureReason } from '../listeners/tls-errors.js';
import { createPlainFront } from '../listeners/plain-front.js';
import { createTlsFront } from '../listeners/tls-front.js';
import { readConnectOverTls } from '../listeners/tls-connect.js';
import type { HeadReader } from '../listeners/head-reader.js';
import { loadTlsMaterial, tlsFiles, watchTlsMaterial } from '../listeners/tls-material.js';
import { resumedWithExpiredCertificate } from '../listeners/resumed-session.js';
import { mtlsTicketOptions, TicketKeys } from '../listeners/ticket-keys.js';
import { publishLifecycle, publishRecord, publishTls } from '../model/channels.js';
import { ProxyError } from '../model/errors.js';
import type { CaptureHook } from '../model/exchange.js';
import { newRecord } from '../model/record.js';
import { clientAddress } from '../pipeline/admission.js';
import { handleClientError } from '../pipeline/client-error.js';
import { handleConnect, handleConnectHead } from '../pipeline/connect-entry.js';
import { createGuards } from '../pipeline/guards.js';
import type { LiveConfig, ProxyContext } from '../pipeline/context.js';
import { failRawExchange } from '../pipeline/fail.js';
import { handleRequest } from '../pipeline/http-entry.js';
import { handleUpgrade } from '../pipeline/upgrade-entry.js';
import { selfAddresses } from '../policy/self-addresses.js';
import { startConnectionTracking, underlyingSocket } from '../quirks/node-quirks.js';
import { AddressPools } from '../upstream/address-pools.js';
import { parseNoProxy } from '../upstream/no-proxy.js';
import { parseParentProxy } from '../upstream/parent-proxy.js';
import { listen, type BindOptions } from '../listeners/listen.js';

/**
 * What the control plane hands the data plane: where flow events go, the interception hand-off
 * (built from the CA it bootstrapped), and the ports the self-loop guard must refuse.
 */
export interface DataPlaneInputs {
  capture: CaptureHook | undefined;
  /** Inspect: the CA to intercept with (the capture hook is then set too). */
  ca: InterceptionCA | undefined;
  /**
   * Inspect: the interception module's factory, which the caller imports only when there is a
   * CA (`await import('../inspect/interception.js')`): forward and plain mtls never load the
   * interception code (TLS termination, HTTP/2, undici's client, WebSocket capture).
   */
  createInterception?: typeof createInterception;
  /** Every port of this proxy (the listener's is added once bound): a request to one of them is a loop. */
  ports: number[];
  /** The policy and users, swapped by the control plane's reloads; read once per decision. */
  live: LiveConfig;
  /**
   * 32 bytes from which TLS session-ticket keys are derived (mtls listener, inspect leaves):
   * processes given the same secret resume each other's sessions. Random per process when absent.
   */
  ticketSecret?: Buffer;
  /** How a cluster worker binds its listener (server/workers-primary.ts); absent in one process. */
  bind?: BindOptions;
}

/**
 * The part that moves bytes: the listener and the pipeline behind it. It publishes records,
 * tunnel and lifecycle events (node:diagnostics_channel, tagged with the instance id) and
 * answers readiness and drain; it never logs, counts or stores by itself.
 */
export interface DataPlane {
  scheme: 'http' | 'https';
  listen(host: string, port: number): Promise<AddressInfo>;
  ready(): boolean;
  /** mtls: reads the TLS files now (SIGHUP) instead of at the next tls.reloadInterval tick. */
  checkTls(): void;
  /** Stops accepting, lets live tunnels and requests finish until the deadline, then cuts them; resolves with how many were cut. */
  drain(drainMs: number): Promise<number>;
  close(): Promise<void>;
}

export function createDataPlane(config: Config, instance: string, inputs: DataPlaneInputs): DataPlane {
  const tickets = new TicketKeys(inputs.ticketSecret);
  if (inputs.ca && inputs.capture && !inputs.createInterception) throw new Error('createDataPlane: a CA was given without createInterception');
  const interceptor = inputs.ca && inputs.capture ? inputs.createInterception!(config, inputs.capture, inputs.ca, tickets) : undefined;
  const files = config.tls ? tlsFiles(config.tls) : undefined;
  let material = files ? loadTlsMaterial(files) : undefined;
  const spec: ListenerSpec = material
    ? { kind: 'tls', secure: { ...material.options, ...mtlsTicketOptions(tickets, material.digest) }, requireClientCert: true }
    : { kind: 'plain' };
  const ctx: ProxyContext = {
    instance,
    config,
    live: inputs.live,
    parent: config.upstreamProxy ? parseParentProxy(config.upstreamProxy.url) : undefined,
    noProxy: parseNoProxy(config.upstreamProxy?.noProxy ?? []),
    self: selfAddresses(() => inputs.ports),
    pools: new AddressPools({ connect: config.timeouts.connect, idle: config.timeouts.idle, keepAlive: 30_000 }),
    state: { draining: false, connections: 0, tunnels: new Set() },
    guards: createGuards(config),
    capture: inputs.capture,
    intercept: interceptor,
  };
  const server = createProxyServer(spec, {
    maxHeaderBytes: config.limits.maxHeaderBytes,
    headersTimeoutMs: config.timeouts.headers,
    keepAliveTimeoutMs: config.timeouts.keepAlive,
  });
  // A CONNECT head is read without the HTTP server (plain front; over TLS, after the handshake); it is given the rest.
  const headLimits = { maxHeaderBytes: config.limits.maxHeaderBytes, headersTimeoutMs: config.timeouts.headers };
  const headHandlers = {
    connect: (socket: Socket, head: { url: string; proxyAuthorization: string | undefined }, rest: Buffer) => handleConnectHead(ctx, head, socket, rest),
    clientError: (socket: Socket, code: string) => handleClientError(ctx, Object.assign(new Error(code), { code }), socket),
  };
  const plain = spec.kind === 'plain' ? createPlainFront(server, headLimits, headHandlers) : undefined;
  let tlsHeads: HeadReader | undefined;
  // Counted where connections are accepted: the plain front passes some on to the HTTP server.
  (plain?.front ?? server).on('connection', (socket: Socket) => {
    ctx.state.connections++;
    socket.once('close', () => ctx.state.connections--);
  });
  // The HTTP server behind a front is fed sockets and never listens: see the quirk.
  if (plain) startConnectionTracking(server);
  const closeWaiting = () => (plain?.waiting ?? tlsHeads?.waiting)?.forEach((_, s) => s.destroy());
  server.on('request', (req, res) => handleRequest(ctx, req, res));
  server.on('connect', (req, socket, head) => handleConnect(ctx, req, socket, head));
  server.on('upgrade', (req, socket, head) => handleUpgrade(ctx, req, socket, head));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A failed handshake is recorded once, by the tlsClientError listener below.
    if (spec.kind === 'tls' && isHandshakeError(err)) return void socket.destroy();
    handleClientError(ctx, err, socket);
  });
  let front: NetServer | undefined;
  let tlsWatch: { stop(): void; check(): void } | undefined;
  let ticketRotation: { stop(): void } | undefined;
  let boundPort = 0;
  if (spec.kind === 'tls') {
    // The HTTPS server behind the TLS front is fed sockets and never listens: see the quirk.
    startConnectionTracking(server);
    front = createTlsFront(server as HttpsServer, config.timeouts.headers, (socket) => {
      const record = newRecord(instance, 'tls_error', clientAddress(socket));
      const err = new ProxyError('not_tls', 'the client sent plain text to the TLS port', {
        hint: `use an https:// proxy URL with a client certificate, e.g. curl --proxy https://HOST:${boundPort} --proxy-cacert ca.crt --proxy-cert client.crt --proxy-key client.key`,
      });
      failRawExchange(socket, record, err, config.auth.realm);
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      const verify = socket.authorizationError;
      // A client that connects and leaves without a word is not worth a log line.
      if (err.code === 'ECONNRESET' && !verify && socket.bytesWritten === 0) return;
      // A refused socket has already lost its peer address; the TCP socket under it still has it.
      const record = newRecord(instance, 'tls_error', clientAddress(socket.remoteAddress ? socket : (underlyingSocket(socket) ?? socket)));
      record.error = 'tls_handshake';
      record.errorDetail = tlsFailureReason(err, verify);
      publishRecord(record);
    });
    tlsHeads = readConnectOverTls(server as HttpsServer, headLimits, headHandlers, (socket) => {
      // Before any byte of the request is read: a destroyed socket carries no request.
      if (resumedWithExpiredCertificate(socket)) {
        const record = newRecord(instance, 'tls_error', clientAddress(socket));
        record.error = 'tls_handshake';
        record.errorDetail = 'the client certificate has expired since its TLS session began (a resumed session; present a current certificate)';
        publishRecord(record);
        socket.destroy();
        return false;
      }
      publishTls({ instance, event: 'handshake', side: 'listener', resumed: socket.isSessionReused() });
      return true;
    });
    front.once('close', () => tlsHeads?.stop());
    ticketRotation = tickets.rotate(() => (server as HttpsServer).setTicketKeys(mtlsTicketOptions(tickets, material!.digest).ticketKeys));
    tlsWatch = watchTlsMaterial(
      files!,
      config.tls!.reloadInterval,
      material!.digest,
      (next) => {
        // Only new handshakes see the new context; live tunnels keep theirs. The ticket keys
        // change with the material: no session from before the reload resumes after it.
        material = next;
        (server as HttpsServer).setSecureContext({ ...next.options, minVersion: 'TLSv1.2', ...mtlsTicketOptions(tickets, next.digest) });
        publishLifecycle({ instance, event: 'reloaded', detail: { files: Object.values(files!).filter(Boolean) } });
      },
      (err) => publishLifecycle({ instance, event: 'reload_failed', detail: { reason: err.message } }),
    );
  }
  const listener: NetServer = front ?? plain?.front ?? server;
  let closed: Promise<void> | undefined;

  return {
    scheme: spec.kind === 'tls' ? 'https' : 'http',
    async listen(host, port) {
      // The accept queue holds as many connections as the proxy may have (see BindOptions.backlog).
      const bound = await listen(listener, host, port, { backlog: Math.max(511, config.limits.maxConnections), ...inputs.bind });
      boundPort = bound.port;
      inputs.ports.push(bound.port);
      return bound;
    },
    ready: () => listener.listening && !ctx.state.draining,
    checkTls: () => tlsWatch?.check(),
    async drain(drainMs) {
      ctx.state.draining = true;
      publishLifecycle({ instance, event: 'draining', detail: { tunnels: ctx.state.tunnels.size, drain_ms: drainMs } });
      tlsWatch?.stop();
      ticketRotation?.stop();
      let serverClosed = false;
      closed = new Promise<void>((resolve) => (listener.listening ? listener.close(() => resolve()) : resolve()));
      void closed.then(() => (serverClosed = true));
      // Keep-alive connections between requests are closed at once; tunnels and requests in
      // flight get until the deadline.
      const deadline = Date.now() + drainMs;
      while (Date.now() < deadline && !(serverClosed && ctx.state.tunnels.size === 0)) {
        server.closeIdleConnections();
        closeWaiting();
        interceptor?.closeIdle();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const cut = ctx.state.tunnels.size;
      for (const t of ctx.state.tunnels) t.destroy();
      server.closeAllConnections();
      closeWaiting();
      interceptor?.close();
      // A cut tunnel publishes its record once its sockets have closed; wait for those lines.
      for (let i = 0; i < 40 && ctx.state.tunnels.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      await closed;
      return cut;
    },
    async close() {
      ctx.state.draining = true;
      tlsWatch?.stop();
      ticketRotation?.stop();
      if (listener.listening) listener.close();
      interceptor?.close();
      await ctx.pools.close();
    },
  };
}
