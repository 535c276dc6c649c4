import cluster from 'node:cluster';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseHostPort } from '../config/host-port.js';
import type { Config } from '../config/schema.js';
import { createControlPlane, type ControlOptions } from '../control/control-plane.js';
import { workerMetrics } from '../control/worker-metrics.js';
import { loadTlsMaterial, tlsFiles } from '../listeners/tls-material.js';
import { lifecycleChannel, publishLifecycle, type LifecycleEvent } from '../model/channels.js';
import { formatHostPort } from '../model/destination.js';
import { applyBalancing, chooseBalancing } from './balancing.js';
import { publishListening } from './listening-line.js';
import { WorkerSlot } from './worker-slot.js';
import { workerExecArgv } from './young-generation.js';

export interface WorkersOptions extends ControlOptions {
  workers: number;
}

export interface WorkersHandle {
  url: string;
  ready(): boolean;
  /** SIGHUP: every worker re-reads mtls's TLS files; the primary re-reads the config and htpasswd files. */
  reload(): void;
  /** Drains every worker (each until drainMs), then closes the control plane. */
  close(drainMs?: number): Promise<void>;
  /** A second signal: the workers are killed at once. */
  kill(): void;
}

/**
 * The primary of `--workers N` (N > 1): one control plane (log, metrics, admin, reload, CA,
 * flow store, UI) and N worker processes, each one data plane on the same port. Workers publish
 * over IPC (worker-bridge.ts) and the primary publishes their events again on its own channels
 * (worker-replay.ts), so everything that subscribes there works as with one process. A policy
 * reload is built here and its sections sent to every worker, which builds the same version
 * (same content hash); a worker that dies is replaced (worker-slot.ts).
 */
export async function startWorkers(config: Config, options: WorkersOptions): Promise<WorkersHandle> {
  // The mtls files are checked here, so a bad one is a usage error before anything forks.
  if (config.tls) loadTlsMaterial(tlsFiles(config.tls));
  const balancing = chooseBalancing();
  const instance = randomUUID();
  const given = options.configSource;
  // The config the last reload read: its policy and auth sections go to the workers.
  let latest = config;
  const source = given && { files: given.files, load: (reloading?: boolean) => (latest = given.load(reloading)) };
  // Record lines come formatted from the workers; the primary logs its own lifecycle lines.
  const control = await createControlPlane(config, instance, { ...options, configSource: source, loggedElsewhere: (r) => r.worker !== undefined });
  const logStream = options.logStream;
  const metrics = workerMetrics(control.registry);
  let running: Config = config;
  const ticketSecret = randomBytes(32);
  const ports: number[] = [];
  const at = parseHostPort(config.listen)!;
  let draining = false;
  applyBalancing(balancing);
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), args: [], execArgv: workerExecArgv(), serialization: 'advanced' });
  const slots: WorkerSlot[] = [];
  for (let i = 1; i <= options.workers; i++) {
    slots.push(
      new WorkerSlot(i, {
        instance,
        capture: control.capture,
        writeLine: (line) => void logStream?.write(line),
        metrics,
        start: (port) => ({ t: 'start', index: i, instance, config: running, ticketSecret, ports: [...ports], port, reusePort: balancing === 'reuseport' }),
        draining: () => draining,
        onListening: () => metrics.alive(slots.filter((s) => s.listening).length),
        onVersion: (id) => {
          if (id !== control.live.current.id) {
            publishLifecycle({ instance, event: 'warning', detail: { worker: i, reason: `worker ${i} built policy version ${id}, the primary ${control.live.current.id}: the htpasswd file changed between the reads; the next change of it realigns them` } });
          }
        },
      }),
    );
  }
  const onReloaded = (msg: unknown) => {
    const e = msg as LifecycleEvent;
    if (e.instance !== instance || e.event !== 'config_reloaded' || e.detail.unchanged === true) return;
    running = { ...config, policy: latest.policy, auth: latest.auth };
    for (const s of slots) s.send({ t: 'version', policy: running.policy, auth: running.auth });
  };
  lifecycleChannel.subscribe(onReloaded);
  let bound: AddressInfo;
  let side: Awaited<ReturnType<typeof control.listen>>;
  try {
    // The first worker binds (port 0 picks a port). With SO_REUSEPORT the others and every
    // replacement bind the port it got; through the cluster's shared handle they ask for the
    // same address as it did (port 0 included), which the primary maps to the one handle.
    bound = await slots[0]!.spawn(at.port);
    const port = balancing === 'reuseport' ? bound.port : at.port;
    await Promise.all(slots.slice(1).map((s) => s.spawn(port)));
    ports.push(bound.port);
    side = await control.listen(ports, () => !draining && slots.every((s) => s.listening), { host: bound.address, port: bound.port, scheme: config.tls ? 'https' : 'http' });
    for (const s of slots) s.send({ t: 'ports', ports });
  } catch (err) {
    draining = true;
    for (const s of slots) s.kill();
    lifecycleChannel.unsubscribe(onReloaded);
    await control.close();
    control.detach();
    throw err;
  }
  for (const s of slots) s.portKnown(balancing === 'reuseport' ? bound.port : at.port);
  const urlHost = bound.address === '0.0.0.0' || bound.address === '::' ? '127.0.0.1' : bound.address;
  const url = `${config.tls ? 'https' : 'http'}://${formatHostPort(urlHost, bound.port)}`;
  publishListening(instance, config, control, bound, side, url, { workers: options.workers, balancing, worker_pids: slots.map((s) => s.pid) });
  let closing: Promise<void> | undefined;
  return {
    url,
    ready: () => !draining && slots.every((s) => s.listening),
    reload() {
      for (const s of slots) s.send({ t: 'checkTls' });
      void control.reload(undefined, 'signal');
    },
    close(drainMs = config.timeouts.drain) {
      closing ??= (async () => {
        draining = true;
        const cut = (await Promise.all(slots.map((s) => s.drain(drainMs)))).reduce((a, b) => a + b, 0);
        lifecycleChannel.unsubscribe(onReloaded);
        await control.close();
        publishLifecycle({ instance, event: 'closed', detail: { tunnels_cut: cut, workers: slots.length } });
        control.detach();
      })();
      return closing;
    },
    kill() {
      draining = true;
      for (const s of slots) s.kill();
    },
  };
}
