import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { workerMetrics, WorkerExitReason } from '../control/worker-metrics.js';
import { publishLifecycle } from '../model/channels.js';
import type { CaptureHook } from '../model/exchange.js';
import { WorkerReplay } from './worker-replay.js';
import type { ToPrimary, ToWorker } from './worker-protocol.js';

/** A worker that lived at least this long before dying is restarted at once; quicker deaths back off. */
const STABLE_MS = 10_000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 30_000;
/** How long past the drain deadline a worker may take to report before it is killed. */
const DRAIN_GRACE_MS = 10_000;

/** The restart delay after `quickDeaths` deaths in a row, each within STABLE_MS of its start. */
export function restartDelay(quickDeaths: number): number {
  return quickDeaths <= 0 ? 0 : Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (quickDeaths - 1));
}

export interface SlotDeps {
  instance: string;
  capture: CaptureHook | undefined;
  /** Where the workers' formatted record lines go (the one log stream). */
  writeLine(line: string): void;
  metrics: ReturnType<typeof workerMetrics>;
  start(port: number): ToWorker;
  draining(): boolean;
  onListening(): void;
  onVersion(id: string): void;
}

/**
 * One worker position (1..N): the process in it, its replay of events, and its replacement when
 * it dies. Slot numbers stay the same across replacements, so the `worker` field and label keep
 * a small closed set.
 */
export class WorkerSlot {
  listening = false;
  #worker: Worker | undefined;
  #port = 0;
  #startedAt = 0;
  #quickDeaths = 0;
  #timer: NodeJS.Timeout | undefined;
  #drained: ((cut: number) => void) | undefined;
  /** A worker in this slot listened once: a later failed start is a death to restart, not a start-up error. */
  #served = false;

  constructor(
    readonly index: number,
    private readonly deps: SlotDeps,
  ) {}

  get pid(): number | undefined {
    return this.#worker?.process.pid;
  }

  /** After start-up: replacements listen on the port the first worker bound. */
  portKnown(port: number): void {
    this.#port = port;
  }

  /** Forks the worker and resolves once it listens; rejects with its start error (EADDRINUSE...). */
  spawn(port: number): Promise<AddressInfo> {
    const worker = cluster.fork();
    this.#worker = worker;
    this.#startedAt = Date.now();
    const replay = new WorkerReplay(this.deps.instance, this.index, this.deps.capture, this.deps.writeLine);
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (m: ToPrimary) => {
        switch (m.t) {
          case 'hello':
            return worker.send(this.deps.start(port));
          case 'batch':
            return replay.batch(m);
          case 'listening':
            started = true;
            this.listening = true;
            this.#served = true;
            this.deps.onListening();
            return resolve({ address: m.address, port: m.port, family: m.address.includes(':') ? 'IPv6' : 'IPv4' });
          case 'failed':
            // As a bind error in one process reads: the CLI names the address it could not use.
            return reject(Object.assign(new Error(m.message), { code: m.code, address: m.address, port: m.port }));
          case 'stats':
            return this.deps.metrics.stats(this.index, m);
          case 'version':
            return this.deps.onVersion(m.id);
          case 'drained':
            return this.#drained?.(m.cut);
        }
      });
      worker.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
        this.listening = false;
        this.#worker = undefined;
        replay.lost();
        this.deps.onListening();
        this.#drained?.(0);
        if (!started) reject(new Error(`worker ${this.index} exited (${signal ?? code}) before listening`));
        if (this.#served && !this.deps.draining()) this.#died(worker.process.pid, code, signal);
      });
    });
  }

  send(message: ToWorker): void {
    if (this.#worker?.isConnected()) this.#worker.send(message);
  }

  /** Resolves with the tunnels the worker cut, once it has sent its last records. */
  drain(drainMs: number): Promise<number> {
    if (this.#timer) clearTimeout(this.#timer);
    const worker = this.#worker;
    if (!worker) return Promise.resolve(0);
    return new Promise((resolve) => {
      const kill = setTimeout(() => worker.process.kill('SIGKILL'), drainMs + DRAIN_GRACE_MS);
      this.#drained = (cut) => {
        clearTimeout(kill);
        this.#drained = undefined;
        resolve(cut);
      };
      this.send({ t: 'drain', ms: drainMs });
    });
  }

  kill(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#worker?.process.kill('SIGKILL');
  }

  #died(pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): void {
    const reason: WorkerExitReason = signal ? 'signal' : code ? 'error' : 'exit';
    this.deps.metrics.exited(reason);
    const uptime = Date.now() - this.#startedAt;
    this.#quickDeaths = uptime < STABLE_MS ? this.#quickDeaths + 1 : 0;
    // A worker dying at once after each start (a bad file, a crash on the first connection)
    // is restarted with a growing pause, not in a loop that eats a CPU and floods the log.
    const delay = restartDelay(this.#quickDeaths > 1 ? this.#quickDeaths - 1 : 0);
    publishLifecycle({
      instance: this.deps.instance,
      event: 'worker_exited',
      detail: { worker: this.index, pid: pid ?? null, code, signal, reason, uptime_ms: uptime, restart_in_ms: delay },
    });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.deps.draining()) return;
      this.spawn(this.#port).then(
        () => publishLifecycle({ instance: this.deps.instance, event: 'worker_started', detail: { worker: this.index, pid: this.pid ?? null } }),
        // Its exit (which follows) is counted and restarted like any other.
        () => undefined,
      );
    }, delay);
  }
}
