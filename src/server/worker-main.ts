import cluster from 'node:cluster';
import { performance } from 'node:perf_hooks';
import { parseHostPort } from '../config/host-port.js';
import { interceptsTls } from '../config/schema.js';
import { buildVersion, LiveVersion } from '../control/config-version.js';
import type { ProxyRecord } from '../model/record.js';
import { Batcher, batchedLines, bridgeChannels } from './worker-bridge.js';
import { createLogger } from '../control/log.js';
import { ipcCaptureHook } from './worker-capture.js';
import type { ToPrimary, ToWorker } from './worker-protocol.js';
import { createDataPlane, type DataPlane } from './data-plane.js';

/** How often a worker reports its memory and CPU for the primary's per-worker metrics. */
const STATS_MS = 5000;

/**
 * A worker process (cluster.fork runs this file, not the CLI: no argument parsing, no control
 * plane): one data plane, started from the primary's 'start' message. It logs nothing itself:
 * records and events go to the primary (worker-bridge.ts), which writes the one log stream.
 */
function send(message: ToPrimary, done?: () => void): void {
  if (!process.connected) return void done?.();
  process.send!(message, undefined, {}, () => done?.());
}

async function start(m: Extract<ToWorker, { t: 'start' }>): Promise<void> {
  const { config, instance, index } = m;
  const live = new LiveVersion(buildVersion(config));
  const batch = new Batcher(send);
  const rids = new WeakMap<ProxyRecord, number>();
  const lines = batchedLines(batch, config.log.format === 'pretty');
  const logger = await createLogger(config.log.format, config.log.level, lines);
  bridgeChannels(batch, instance, index, rids, logger, config.log.format === 'json' ? lines : undefined);
  // The CA files exist: the primary bootstrapped them before forking.
  const ca = interceptsTls(config) ? await (await import('../control/inspect-ca.js')).loadInspectCA(config.inspect!) : undefined;
  const capture = ca ? ipcCaptureHook(batch, rids, config.inspect!.bodyCapBytes) : undefined;
  const ports = [...m.ports];
  // Loaded only when intercepting, as startProxy does (see DataPlaneInputs.createInterception).
  const createInterception = ca ? (await import('../inspect/interception.js')).createInterception : undefined;
  const data: DataPlane = createDataPlane(config, instance, {
    capture,
    ca: ca && { issuer: ca.issuer, certFile: ca.certFile },
    createInterception,
    ports,
    live,
    ticketSecret: m.ticketSecret,
    bind: m.reusePort ? { exclusive: true, reusePort: true } : {},
  });
  const at = parseHostPort(config.listen)!;
  const bound = await data.listen(at.host, m.port);
  send({ t: 'listening', address: bound.address, port: bound.port });
  const { eventLoopUtilization } = performance;
  let last: ReturnType<typeof eventLoopUtilization> | undefined;
  const stats = () => {
    // The first report covers the time since the process started.
    const now = last ? eventLoopUtilization(last) : eventLoopUtilization();
    last = eventLoopUtilization();
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    send({ t: 'stats', rss: mem.rss, heapUsed: mem.heapUsed, cpuSeconds: (cpu.user + cpu.system) / 1e6, elu: now.utilization });
  };
  stats();
  setInterval(stats, STATS_MS).unref();
  let draining = false;
  process.on('message', (raw: unknown) => {
    const msg = raw as ToWorker;
    if (msg.t === 'version') {
      // Same sections, same files: the same content-hash id as the primary's (it checks).
      live.swap(buildVersion({ policy: msg.policy, auth: msg.auth }));
      send({ t: 'version', id: live.current.id });
    } else if (msg.t === 'ports') {
      ports.splice(0, ports.length, ...new Set([...msg.ports, bound.port]));
    } else if (msg.t === 'checkTls') {
      data.checkTls();
    } else if (msg.t === 'drain' && !draining) {
      draining = true;
      void data.drain(msg.ms).then(async (cut) => {
        await data.close();
        // Every record of the drain is sent before 'drained': IPC keeps the order.
        batch.flush();
        send({ t: 'drained', cut }, () => process.exit(0));
      });
    }
  });
}

if (cluster.isWorker) {
  // The primary decides when to stop (a Ctrl-C reaches the whole process group) and reloads for
  // every worker; without handlers these signals would end a worker mid-tunnel.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
  process.once('message', (raw: unknown) => {
    const m = raw as ToWorker;
    if (m.t !== 'start') return;
    start(m).catch((err: NodeJS.ErrnoException & { address?: string; port?: number }) => {
      send({ t: 'failed', message: err.message, code: err.code, address: err.address, port: err.port }, () => process.exit(1));
    });
  });
  send({ t: 'hello' });
}
