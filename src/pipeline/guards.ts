import type { Config } from '../config/schema.js';
import { Budgets } from './budgets.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { LiveTunnel } from './live-tunnel.js';
import type { HelloPeek } from './sni-peek.js';

/** The shared state behind the per-identity budgets and the SNI check, one per proxy instance. */
export interface TunnelGuards {
  /** Absent when neither budgets.maxTunnels nor budgets.rate is set: nothing is tracked. */
  budgets: Budgets | undefined;
  /** Absent without budgets.maxTunnelAge. */
  ages: DeadlineQueue<LiveTunnel> | undefined;
  /** The SNI check's time bound on reading a tunnel's first bytes. */
  peeks: DeadlineQueue<HelloPeek>;
}

export function createGuards(config: Pick<Config, 'budgets' | 'sni'>): TunnelGuards {
  const b = config.budgets;
  const limited = b.maxTunnels > 0 || b.rate > 0;
  return {
    budgets: limited
      ? new Budgets({ maxTunnels: b.maxTunnels, rate: b.rate, burst: b.burst ?? Math.max(1, Math.ceil(b.rate)), maxIdentities: b.maxIdentities })
      : undefined,
    ages: b.maxTunnelAge ? new DeadlineQueue(b.maxTunnelAge) : undefined,
    peeks: new DeadlineQueue(config.sni.peekTimeout),
  };
}
