import { Counter, type Registry } from 'prom-client';

interface Pending<L extends string> {
  labels: Record<L, string>;
  n: number;
}

/**
 * A counter whose increments are plain additions on the record path and reach prom-client's
 * Counter when it is collected (a scrape): prom-client hashes and validates the label object on
 * every inc(), which at thousands of records a second was most of the metrics' cost. The label
 * sets are closed (see metrics.ts), so the map stays small.
 */
export class PendingCounts<L extends string> {
  private readonly pending = new Map<string, Pending<L>>();

  /** Adds `n` under `key`; `labels` is called only the first time the key is seen. */
  add(key: string, labels: () => Record<L, string>, n = 1): void {
    let p = this.pending.get(key);
    if (!p) {
      p = { labels: labels(), n: 0 };
      this.pending.set(key, p);
    }
    p.n += n;
  }

  /** The prom-client Counter that shows these counts (flushed into it before each collection). */
  register(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
    const pending = this.pending;
    return new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        for (const p of pending.values()) {
          if (p.n === 0) continue;
          this.inc(p.labels, p.n);
          p.n = 0;
        }
      },
    });
  }
}
