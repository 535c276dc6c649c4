import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import { parseHostPort } from '../config/host-port.js';
import { listen } from '../listeners/listen.js';
import { interceptsTls, type Config } from '../config/schema.js';
import type { InterceptionCA } from '../inspect/interception.js';
import type { CaptureHook } from '../model/exchange.js';
import type { Flow } from '../flows/flow.js';
import type { ProxyRecord } from '../model/record.js';
import { createAdminServer } from './admin-server.js';
import { explainSetup } from './explain.js';
import { explainHandler } from './explain-http.js';
import { attachRecordBuffer, DEFAULT_KEEP_RECORDS, type RecordBuffer } from './record-buffer.js';
import { attachLog, createLogger } from './log.js';
import { attachMetrics } from './metrics.js';
import type { InspectRuntime } from './inspect-control.js';
import type { LiveConfig } from '../pipeline/context.js';
import { buildVersion, LiveVersion } from './config-version.js';
import { createReloader, type ConfigSource, type ReloadOutcome, type ReloadTrigger } from './reload.js';
import { reloadMetrics } from './reload-metrics.js';
import type { ProxyEndpoint } from '../ui/resend.js';

/**
 * The part that watches and steers: the log sink and metrics (subscribed to the data plane's
 * records by instance id), admin (health, readiness, metrics), CA bootstrap, the flow store and
 * UI. What it gives the data plane is plain data and one hook: the CA and the capture hook.
 */
export interface ControlPlane {
  /** Inspect: where the data plane sends exchange events (the flow store). */
  capture: CaptureHook | undefined;
  /** Inspect: the CA the data plane intercepts with. */
  ca: InterceptionCA | undefined;
  /** The policy and users version the data plane decides under; reloads swap it. */
  live: LiveConfig;
  /** Reads the files again (or takes `config`) and swaps in the new version if it is valid. */
  reload(config?: () => Config, trigger?: ReloadTrigger): ReloadOutcome;
  /** The admin port's /metrics registry (with --workers, the primary adds per-worker metrics to it). */
  registry: Registry;
  /** This instance's records, subscribed here (the data plane only publishes). */
  records: RecordBuffer;
  /** Inspect: the flows captured so far, oldest first; undefined in the other modes. */
  flows: (() => Flow[]) | undefined;
  /** Extra fields for the "listening" line, and warnings to log at start. */
  detail: Record<string, unknown>;
  warnings: string[];
  /** Binds admin and UI; their ports join `ports`, so the data plane refuses them as loops. */
  listen(ports: number[], ready: () => boolean, proxy?: ProxyEndpoint): Promise<{ admin: AddressInfo | undefined; ui: AddressInfo | undefined }>;
  /** After the data plane drained: closes admin and UI, writes pending flows, then detaches log and metrics (last, so the final lines are written). */
  close(): Promise<void>;
  /** Detaches log and metrics and ends record streams (after the "closed" line). */
  detach(): void;
}

export interface ControlOptions {
  /** Where the canonical JSON log goes (the CLI passes stdout); no logging when absent. */
  logStream?: DestinationStream;
  /**
   * How many of the latest records `records()` keeps (default 10,000; 0 keeps none, as the CLI
   * does). `recordStream()` works either way.
   */
  keepRecords?: number;
  /**
   * Where the configuration came from (the CLI passes its config file and flags): its files and
   * the htpasswd file are watched and reloaded on change, and reload() reads them again. Without
   * it nothing is watched; reload() re-reads the htpasswd file, or takes a config.
   */
  configSource?: ConfigSource;
  /** With --workers: records whose log line a worker already wrote (the primary only writes its bytes). */
  loggedElsewhere?: (r: ProxyRecord) => boolean;
}

function closeServer(server: HttpServer | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  // Live event streams and kept-alive scrapers would hold close() open.
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function createControlPlane(config: Config, instance: string, options: ControlOptions): Promise<ControlPlane> {
  // First: a bad htpasswd file fails the start before anything is bound or subscribed.
  const live = new LiveVersion(buildVersion(config));
  // Loaded on demand so forward and mtls never load the X.509 library behind the CA.
  const inspect: InspectRuntime | undefined = interceptsTls(config)
    ? await (await import('./inspect-control.js')).prepareInspect(config, instance)
    : undefined;
  const { logStream } = options;
  const detachLog = logStream
    ? attachLog(instance, await createLogger(config.log.format, config.log.level, logStream), config.log.format === 'json' ? logStream : undefined, options.loggedElsewhere)
    : undefined;
  const metrics = attachMetrics(instance, config.mode);
  const records = attachRecordBuffer(instance, options.keepRecords ?? DEFAULT_KEEP_RECORDS);
  const reloader = createReloader({ instance, running: config, live, metrics: reloadMetrics(metrics.registry, live.current.id), source: options.configSource });
  let stopWatching: (() => void) | undefined;
  const adminAt = config.admin === 'off' ? undefined : parseHostPort(config.admin)!;
  let admin: HttpServer | undefined;
  const detach = () => {
    metrics.detach();
    detachLog?.();
    records.end();
  };
  return {
    live,
    reload: (given, trigger = 'api') => reloader.reload(trigger, given),
    capture: inspect?.capture,
    ca: inspect?.ca,
    records,
    registry: metrics.registry,
    flows: inspect ? () => inspect.store.list().reverse() : undefined,
    detail: inspect?.detail ?? {},
    warnings: inspect?.warnings ?? [],
    async listen(ports, ready, proxy) {
      metrics.collectDefaults();
      if (proxy) inspect?.proxyListening(proxy);
      let adminBound: AddressInfo | undefined;
      let uiBound: AddressInfo | undefined;
      if (adminAt) {
        // The self-loop guard sees the bound ports, as the data plane's does.
        const base = explainSetup(config, () => ports);
        const explain = explainHandler(() => ({ ...base, policy: live.current.policy }), inspect?.uiToken);
        admin = createAdminServer({ ready, explain }, metrics.registry);
        adminBound = await listen(admin, adminAt.host, adminAt.port);
        ports.push(adminBound.port);
      }
      if (inspect?.ui) {
        uiBound = await listen(inspect.ui.server, inspect.ui.host, inspect.ui.port);
        // The UI's API must never be reachable through the proxy port (self-address check).
        ports.push(uiBound.port);
      }
      // Watched from here on, so a change is logged after the "listening" line.
      if (options.configSource) stopWatching = reloader.watch();
      return { admin: adminBound, ui: uiBound };
    },
    async close() {
      stopWatching?.();
      await closeServer(admin);
      await closeServer(inspect?.ui?.server);
      // Last: flows finished (or cut) during the drain are written too.
      await inspect?.close();
    },
    detach,
  };
}
