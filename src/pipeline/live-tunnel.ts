import type { Duplex } from 'node:stream';
import type { ProxyRecord } from '../model/record.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import type { Expiring } from './deadline-queue.js';

/** How long both sides get to close after the maximum age ended them, before they are cut. */
const AGE_GRACE_MS = 2000;

/**
 * A spliced tunnel as the drain and the age limit see it. A class rather than closures: idle
 * tunnels are what a proxy holds most of.
 */
export class LiveTunnel implements Expiring {
  constructor(
    private readonly client: Duplex,
    private readonly upstream: UpstreamConnection,
    private readonly record: ProxyRecord,
  ) {}

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
  }

  /**
   * budgets.maxTunnelAge reached: both sides are ended (a FIN each way after what was already
   * written), so the peers see an orderly close; whatever is still open after a short grace is cut.
   */
  expire(): void {
    const ms = Math.round(performance.now() - this.record.start);
    this.record.error ??= 'tunnel_max_age';
    this.record.errorDetail ??= `closed after ${ms} ms (budgets.maxTunnelAge)`;
    this.client.end();
    this.upstream.socket.end();
    setTimeout(() => this.destroy(), AGE_GRACE_MS).unref();
  }
}
