import { isIP, type Socket } from 'node:net';
import { Agent, Pool, type Dispatcher } from 'undici';
import { UpstreamConnection } from './connection.js';

export interface PoolTimeouts {
  connect: number;
  /** No response head, or no body data, for this long fails the exchange. */
  idle: number;
  keepAlive: number;
}

/** Where plain-HTTP forwarding sends one request: a pool of connections to one decided address. */
export interface PooledTarget {
  dispatcher: Dispatcher;
  origin: string;
  /** An idle kept-alive connection will carry it: nothing was dialled for this request. */
  reused: boolean;
}

/** A pool left with no connection is closed this long after it was dropped from the map. */
const POOL_GRACE_MS = 5_000;
/** A connection dialled by prepare() is kept this long for its pool to take, then closed. */
const SPARE_MS = 10_000;

/**
 * Kept-alive connections for absolute-URI forwarding, one undici Pool per dialled address (never
 * per name: a pooled connection is never re-resolved). When a pool has no idle connection the
 * pipeline dials one itself before the request is sent, so that a refusing address is seen in
 * the dial step and the next allowed address is tried, as for CONNECT; the pool then takes
 * that connection. Pools with no connection left are dropped, so the map stays bounded by the
 * destinations in use.
 */
export class AddressPools {
  private readonly pools = new Map<string, Pool>();
  private readonly spare = new Map<string, Socket[]>();
  private readonly parentAgent: Agent;

  constructor(private readonly timeouts: PoolTimeouts) {
    this.parentAgent = new Agent(this.clientOptions());
  }

  /** A pooled connection to ip:port: an idle one, or a new one dialled now (a dial failure rejects here). */
  async prepare(ip: string, port: number): Promise<PooledTarget> {
    const origin = `http://${isIP(ip) === 6 ? `[${ip}]` : ip}:${port}`;
    const existing = this.pools.get(origin);
    if (existing && existing.stats.free > 0) return { dispatcher: existing, origin, reused: true };
    const conn = await UpstreamConnection.dial(ip, port, this.timeouts.connect, false);
    const list = this.spare.get(origin) ?? [];
    list.push(conn.socket);
    this.spare.set(origin, list);
    setTimeout(() => this.dropSpare(origin, conn.socket), SPARE_MS).unref();
    // Looked up after the dial: the pool seen before it may have lost its last connection and been dropped meanwhile.
    return { dispatcher: this.pool(origin, ip, port), origin, reused: false };
  }

  /** The parent proxy resolves and dials; its connections are pooled by its URL. */
  parent(origin: string): PooledTarget {
    return { dispatcher: this.parentAgent, origin, reused: false };
  }

  async close(): Promise<void> {
    for (const list of this.spare.values()) for (const s of list) s.destroy();
    this.spare.clear();
    const all = [...this.pools.values(), this.parentAgent];
    this.pools.clear();
    await Promise.all(all.map((p) => p.close().catch(() => undefined)));
  }

  private clientOptions() {
    return {
      connect: { timeout: this.timeouts.connect },
      headersTimeout: this.timeouts.idle,
      bodyTimeout: this.timeouts.idle,
      keepAliveTimeout: this.timeouts.keepAlive,
    };
  }

  private pool(origin: string, ip: string, port: number): Pool {
    let pool = this.pools.get(origin);
    if (pool) return pool;
    pool = new Pool(origin, {
      ...this.clientOptions(),
      connect: (_opts, callback) => {
        const ready = this.takeSpare(origin);
        // undici's Client expects the callback after connect() has returned (a call from inside it never sends the request).
        if (ready) return void setImmediate(() => callback(null, ready));
        // A second connection for requests in flight together: dialled here, to the same address.
        UpstreamConnection.dial(ip, port, this.timeouts.connect, false).then(
          (c) => callback(null, c.socket),
          (err: Error) => callback(err, null),
        );
      },
    });
    const created = pool;
    created.on('disconnect', () => {
      const s = created.stats;
      if (s.connected === 0 && s.size === 0 && s.queued === 0 && this.pools.get(origin) === created) {
        this.pools.delete(origin);
        // Closed a little later: a request that lost this connection is sent once more on the
        // same pool (relay's retry), and close() would refuse it; close() waits for what is queued.
        setTimeout(() => void created.close().catch(() => undefined), POOL_GRACE_MS).unref();
      }
    });
    this.pools.set(origin, pool);
    return pool;
  }

  private takeSpare(origin: string): Socket | undefined {
    const list = this.spare.get(origin);
    let socket: Socket | undefined;
    while (list && list.length > 0 && !socket) {
      const s = list.shift()!;
      if (!s.destroyed) socket = s;
    }
    if (list && list.length === 0) this.spare.delete(origin);
    return socket;
  }

  private dropSpare(origin: string, socket: Socket): void {
    const list = this.spare.get(origin);
    const i = list?.indexOf(socket) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.spare.delete(origin);
    socket.destroy();
  }
}
