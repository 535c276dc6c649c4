import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { DestinationStream } from 'pino';
import { Agent } from 'undici';
import { createAdminServer } from '../control/admin-server.js';
import { parseHostPort } from '../config/host-port.js';
import { startConnectionTracking, underlyingSocket } from '../quirks/node-quirks.js';
import type { Config } from '../config/schema.js';
import { Htpasswd } from '../identity/htpasswd.js';
import { createProxyServer, type ListenerSpec } from '../listeners/create-server.js';
import { isHandshakeError, tlsFailureReason } from '../listeners/tls-errors.js';
import { createTlsFront } from '../listeners/tls-front.js';
import { loadTlsMaterial, tlsFiles, watchTlsMaterial } from '../listeners/tls-material.js';
import { attachLog, createLogger } from '../control/log.js';
import { attachMetrics } from '../control/metrics.js';
import { compilePolicy } from '../policy/compile.js';
import { parseNoProxy } from '../upstream/no-proxy.js';
import { parseParentProxy } from '../upstream/parent-proxy.js';
import { clientAddress } from '../pipeline/admission.js';
import { handleClientError } from '../pipeline/client-error.js';
import { handleConnect } from '../pipeline/connect-handler.js';
import type { ProxyContext } from '../pipeline/context.js';
import { formatHostPort } from '../model/destination.js';
import { ProxyError } from '../model/errors.js';
import { publishLifecycle, publishRecord } from '../model/channels.js';
import { handleRequest } from '../pipeline/forward-handler.js';
import { failRawExchange } from '../pipeline/fail.js';
import { newRecord } from '../model/record.js';
import { selfAddresses } from '../policy/self-addresses.js';
import { handleUpgrade } from '../pipeline/upgrade-handler.js';

export interface StartOptions {
  /** Where the canonical JSON log goes (the CLI passes stdout); no logging when absent. */
  logStream?: DestinationStream;
}

export interface ProxyHandle {
  instance: string;
  mode: Config['mode'];
  /** The bound proxy address (port 0 resolved to the real port). */
  address: { host: string; port: number };
  admin: { host: string; port: number } | undefined;
  /** Inspect mode's UI and flow API, when on. */
  ui: { host: string; port: number } | undefined;
  /** http://host:port or https://host:port, ready for HTTPS_PROXY. */
  url: string;
  ready(): boolean;
  /** Stop accepting, fail readiness, wait for live tunnels up to drainMs, then close. */
  close(drainMs?: number): Promise<void>;
}

function listen(server: NetServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startProxy(config: Config, options: StartOptions = {}): Promise<ProxyHandle> {
  const instance = randomUUID();
  // Inspect is the same pipeline with a capture hook and the intercept hand-off plugged in;
  // loaded on demand so forward and mtls never load it (or the X.509 library behind the CA).
  const inspect = config.mode === 'inspect' ? await (await import('../control/inspect-control.js')).prepareInspect(config, instance) : undefined;
  const listenAt = parseHostPort(config.listen)!;
  const adminAt = config.admin === 'off' ? undefined : parseHostPort(config.admin)!;
  const ports: number[] = [];

  let spec: ListenerSpec = { kind: 'plain' };
  let stopWatching: (() => void) | undefined;
  const files = config.tls ? tlsFiles(config.tls) : undefined;
  const material = files ? loadTlsMaterial(files) : undefined;
  if (material) spec = { kind: 'tls', secure: material.options, requireClientCert: true };

  const parent = config.upstreamProxy ? parseParentProxy(config.upstreamProxy.url) : undefined;
  const ctx: ProxyContext = {
    instance,
    config,
    policy: compilePolicy(config.policy),
    htpasswd: config.auth.htpasswd ? Htpasswd.load(config.auth.htpasswd) : undefined,
    parent,
    noProxy: parseNoProxy(config.upstreamProxy?.noProxy ?? []),
    self: selfAddresses(() => ports),
    agent: new Agent({
      connect: { timeout: config.timeouts.connect },
      headersTimeout: config.timeouts.idle,
      bodyTimeout: config.timeouts.idle,
      keepAliveTimeout: 30_000,
    }),
    state: { draining: false, connections: 0, tunnels: new Set() },
    capture: inspect?.capture,
    intercept: inspect?.interceptor,
  };

  const detachLog = options.logStream
    ? attachLog(instance, await createLogger(config.log.format, config.log.level, options.logStream))
    : undefined;
  const metrics = attachMetrics(instance, config.mode);

  const server = createProxyServer(spec, {
    maxHeaderBytes: config.limits.maxHeaderBytes,
    headersTimeoutMs: config.timeouts.headers,
    keepAliveTimeoutMs: config.timeouts.keepAlive,
  });
  // Behind the TLS front the HTTPS server never listens: without this, no header deadline.
  if (spec.kind === 'tls') startConnectionTracking(server);
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
  if (spec.kind === 'tls') {
    front = createTlsFront(server as HttpsServer, config.timeouts.headers, (socket) => {
      const record = newRecord(instance, 'tls_error', clientAddress(socket));
      const err = new ProxyError('not_tls', 'the client sent plain text to the TLS port', {
        hint: `use an https:// proxy URL with a client certificate, e.g. curl --proxy https://HOST:${bound.port} --proxy-cacert ca.crt --proxy-cert client.crt --proxy-key client.key`,
      });
      failRawExchange(socket, record, err, config.auth.realm);
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      const verify = socket.authorizationError;
      // A client that connects and leaves without a word is not worth a log line.
      if (err.code === 'ECONNRESET' && !verify && socket.bytesWritten === 0) return;
      // A refused socket has already lost its peer address; the TCP socket under it still has it.
      const raw = underlyingSocket(socket);
      const record = newRecord(instance, 'tls_error', clientAddress(socket.remoteAddress ? socket : (raw ?? socket)));
      record.error = 'tls_handshake';
      record.errorDetail = tlsFailureReason(err, verify);
      publishRecord(record);
    });
    stopWatching = watchTlsMaterial(
      files!,
      config.tls!.reloadInterval,
      material!.digest,
      (next) => {
        // Only new handshakes see the new context; live tunnels keep theirs.
        (server as unknown as { setSecureContext(o: object): void }).setSecureContext({ ...next.options, minVersion: 'TLSv1.2' });
        publishLifecycle({ instance, event: 'reloaded', detail: { files: Object.values(files!).filter(Boolean) } });
      },
      (err) => publishLifecycle({ instance, event: 'reload_failed', detail: { reason: err.message } }),
    );
  }

  const listener: NetServer = front ?? server;
  let adminServer: HttpServer | undefined;
  let adminBound: AddressInfo | undefined;
  let uiBound: AddressInfo | undefined;
  let bound: AddressInfo;
  try {
    bound = await listen(listener, listenAt.host, listenAt.port);
    ports.push(bound.port);
    if (adminAt) {
      adminServer = createAdminServer({ ready: () => listener.listening && !ctx.state.draining }, metrics.registry);
      adminBound = await listen(adminServer, adminAt.host, adminAt.port);
      ports.push(adminBound.port);
    }
    if (inspect?.ui) {
      uiBound = await listen(inspect.ui.server, inspect.ui.host, inspect.ui.port);
      // The UI's API must never be reachable through the proxy port (self-address check).
      ports.push(uiBound.port);
    }
  } catch (err) {
    // A library caller that fails to start must not be left with subscribers and timers.
    if (listener.listening) listener.close();
    if (adminServer?.listening) adminServer.close();
    inspect?.interceptor.close();
    await inspect?.close();
    stopWatching?.();
    metrics.detach();
    detachLog?.();
    await ctx.agent.close().catch(() => undefined);
    throw err;
  }

  const scheme = spec.kind === 'tls' ? 'https' : 'http';
  const urlHost = bound.address === '0.0.0.0' || bound.address === '::' ? '127.0.0.1' : bound.address;
  const handle: ProxyHandle = {
    instance,
    mode: config.mode,
    address: { host: bound.address, port: bound.port },
    admin: adminBound ? { host: adminBound.address, port: adminBound.port } : undefined,
    ui: uiBound ? { host: uiBound.address, port: uiBound.port } : undefined,
    url: `${scheme}://${formatHostPort(urlHost, bound.port)}`,
    ready: () => listener.listening && !ctx.state.draining,
    close: async (drainMs = config.timeouts.drain) => {
      if (ctx.state.draining) return;
      ctx.state.draining = true;
      publishLifecycle({ instance, event: 'draining', detail: { tunnels: ctx.state.tunnels.size, drain_ms: drainMs } });
      stopWatching?.();
      let serverClosed = false;
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      void closed.then(() => (serverClosed = true));
      // Keep-alive connections between requests are closed at once; tunnels and requests in
      // flight get until the deadline.
      const deadline = Date.now() + drainMs;
      while (Date.now() < deadline && !(serverClosed && ctx.state.tunnels.size === 0)) {
        server.closeIdleConnections();
        inspect?.interceptor.closeIdle();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const cut = ctx.state.tunnels.size;
      for (const t of ctx.state.tunnels) t.destroy();
      server.closeAllConnections();
      inspect?.interceptor.close();
      // A cut tunnel publishes its record once its sockets have closed; wait for those lines.
      for (let i = 0; i < 40 && ctx.state.tunnels.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      await closed;
      await new Promise<void>((resolve) => (adminServer ? adminServer.close(() => resolve()) : resolve()));
      adminServer?.closeAllConnections();
      if (inspect?.ui) {
        const ui = inspect.ui.server;
        // Live event streams would hold close() open.
        ui.closeAllConnections();
        await new Promise<void>((resolve) => ui.close(() => resolve()));
      }
      await ctx.agent.close().catch(() => undefined);
      // Last: flows finished (or cut) during the drain are written too.
      await inspect?.close();
      publishLifecycle({ instance, event: 'closed', detail: { tunnels_cut: cut } });
      metrics.detach();
      detachLog?.();
    },
  };
  for (const reason of inspect?.warnings ?? []) publishLifecycle({ instance, event: 'warning', detail: { reason } });
  publishLifecycle({
    instance,
    event: 'listening',
    detail: {
      mode: config.mode,
      proxy: formatHostPort(bound.address, bound.port),
      admin: adminBound ? formatHostPort(adminBound.address, adminBound.port) : null,
      url: handle.url,
      ...(inspect ? { ui: uiBound ? formatHostPort(uiBound.address, uiBound.port) : null, ...inspect.detail } : {}),
    },
  });
  return handle;
}
