/** Something with a deadline: told once when it passes (unless deleted first). */
export interface Expiring {
  expire(): void;
}

/**
 * Deadlines that are all the same delay after their start: they then expire in the order they
 * were added, so one timer for the oldest serves them all, instead of a timer (and a closure)
 * per connection. A Map keeps insertion order, and add, delete and each expiry are O(1).
 */
export class DeadlineQueue<T extends Expiring> {
  private readonly due = new Map<T, number>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = 0;
  private sweeping = false;

  constructor(readonly delayMs: number) {}

  get size(): number {
    return this.due.size;
  }

  add(item: T, now = performance.now()): void {
    const at = now + this.delayMs;
    this.due.set(item, at);
    if (!this.timer && !this.sweeping) this.arm(at, now);
  }

  delete(item: T): void {
    this.due.delete(item);
    if (this.due.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private arm(at: number, now: number): void {
    this.armedFor = at;
    // unref: a deadline is never the reason for the process to stay up; the sockets are.
    this.timer = setTimeout(this.sweep, Math.max(1, Math.ceil(at - now))).unref();
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    // A timer may fire a little early; never expire before the deadline.
    const now = Math.max(performance.now(), this.armedFor);
    this.sweeping = true;
    try {
      for (const [item, at] of this.due) {
        if (at > now) return this.arm(at, now);
        this.due.delete(item);
        item.expire();
      }
    } finally {
      this.sweeping = false;
    }
  };
}
