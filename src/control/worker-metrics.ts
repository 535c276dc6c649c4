import { Counter, Gauge, type Registry } from 'prom-client';

/** Why a worker exited, as a closed label set: killed by a signal, exited non-zero, or exited 0 unasked. */
export const WORKER_EXIT_REASONS = ['signal', 'error', 'exit'] as const;
export type WorkerExitReason = (typeof WORKER_EXIT_REASONS)[number];

export interface WorkerStats {
  rss: number;
  heapUsed: number;
  cpuSeconds: number;
  elu: number;
}

/**
 * With --workers: the primary's own process metrics (egresskit_process_*, nodejs_*) describe the
 * primary only, so each worker's memory, CPU and event-loop load are exported per worker, with
 * a `worker` label (1..N, a set as small as --workers). Summing them would hide the one worker
 * whose event loop is saturated or whose memory grows; `sum()` in PromQL gives the total.
 */
export function workerMetrics(registry: Registry) {
  const exits = new Counter({
    name: 'egresskit_worker_exits_total',
    help: 'Workers that exited without being asked (then replaced), by reason: signal (e.g. OOM-killed), error (non-zero exit), exit (0).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of WORKER_EXIT_REASONS) exits.inc({ reason }, 0);
  const alive = new Gauge({ name: 'egresskit_workers', help: 'Worker processes listening now.', registers: [registry] });
  const rss = new Gauge({ name: 'egresskit_worker_resident_memory_bytes', help: 'Resident memory of each worker.', labelNames: ['worker'], registers: [registry] });
  const heap = new Gauge({ name: 'egresskit_worker_heap_used_bytes', help: 'V8 heap in use in each worker.', labelNames: ['worker'], registers: [registry] });
  const cpu = new Gauge({ name: 'egresskit_worker_cpu_seconds', help: 'User and system CPU time of each worker since it started (a gauge, not a counter: a replaced worker starts again from 0).', labelNames: ['worker'], registers: [registry] });
  const elu = new Gauge({
    name: 'egresskit_worker_event_loop_utilization',
    help: 'Share of the last few seconds each worker\'s event loop was busy (1: saturated).',
    labelNames: ['worker'],
    registers: [registry],
  });
  return {
    exited: (reason: WorkerExitReason) => exits.inc({ reason }),
    alive: (n: number) => alive.set(n),
    stats(worker: number, s: WorkerStats) {
      const w = String(worker);
      rss.set({ worker: w }, s.rss);
      heap.set({ worker: w }, s.heapUsed);
      cpu.set({ worker: w }, s.cpuSeconds);
      elu.set({ worker: w }, s.elu);
    },
  };
}
