import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config/schema.js';
import { createInterception, type InterceptionCA } from '../inspect/interception.js';
import { createProxyServer, type ListenerSpec } from '../listeners/create-server.js';
import { isHandshakeError, tlsFailureReason } from '../listeners/tls-errors.js';
import { createTlsFront } from '../listeners/tls-front.js';
import { loadTlsMaterial, tlsFiles, watchTlsMaterial } from '../listeners/tls-material.js';
import { publishLifecycle, publishRecord } from '../model/channels.js';
import { ProxyError } from '../model/errors.js';
import type { CaptureHook } from '../model/exchange.js';
import { newRecord } from '../model/record.js';
import { clientAddress } from '../pipeline/admission.js';
import { handleClientError } from '../pipeline/client-error.js';
import { handleConnect } from '../pipeline/connect-entry.js';
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
  /** Every port of this proxy (the listener's is added once bound): a request to one of them is a loop. */
  ports: number[];
  /** The policy and users, swapped by the control plane's reloads; read once per decision. */
  live: LiveConfig;
  /**
   * TLS session ticket keys (32 bytes): with --workers, the primary makes one and hands it to
   * every worker, so a session resumed on any of them; random per process when absent.
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
  const interceptor = inputs.ca && inputs.capture ? createInterception(config, inputs.capture, inputs.ca) : undefined;
  const files = config.tls ? tlsFiles(config.tls) : undefined;
  const material = files ? loadTlsMaterial(files) : undefined;
  const spec: ListenerSpec = material ? { kind: 'tls', secure: material.options, requireClientCert: true } : { kind: 'plain' };
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
  server.on('connection', (socket: Socket) => {
    ctx.state.connections++;
    socket.once('close', () => ctx.state.connections--);
  });
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
    tlsWatch = watchTlsMaterial(
      files!,
      config.tls!.reloadInterval,
      material!.digest,
      (next) => {
        // Only new handshakes see the new context; live tunnels keep theirs.
        (server as HttpsServer).setSecureContext({ ...next.options, minVersion: 'TLSv1.2' });
        publishLifecycle({ instance, event: 'reloaded', detail: { files: Object.values(files!).filter(Boolean) } });
      },
      (err) => publishLifecycle({ instance, event: 'reload_failed', detail: { reason: err.message } }),
    );
  }
  const listener: NetServer = front ?? server;
  let closed: Promise<void> | undefined;

  return {
    scheme: spec.kind === 'tls' ? 'https' : 'http',
    async listen(host, port) {
      const bound = await listen(listener, host, port, inputs.bind);
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
      let serverClosed = false;
      closed = new Promise<void>((resolve) => (listener.listening ? listener.close(() => resolve()) : resolve()));
      void closed.then(() => (serverClosed = true));
      // Keep-alive connections between requests are closed at once; tunnels and requests in
      // flight get until the deadline.
      const deadline = Date.now() + drainMs;
      while (Date.now() < deadline && !(serverClosed && ctx.state.tunnels.size === 0)) {
        server.closeIdleConnections();
        interceptor?.closeIdle();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const cut = ctx.state.tunnels.size;
      for (const t of ctx.state.tunnels) t.destroy();
      server.closeAllConnections();
      interceptor?.close();
      // A cut tunnel publishes its record once its sockets have closed; wait for those lines.
      for (let i = 0; i < 40 && ctx.state.tunnels.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      await closed;
      return cut;
    },
    async close() {
      ctx.state.draining = true;
      tlsWatch?.stop();
      if (listener.listening) listener.close();
      interceptor?.close();
      await ctx.pools.close();
    },
  };
}
