import type { Socket } from 'node:net';
import type { Agent, Dispatcher, Pool } from 'undici';
import { formatHostPort } from '../model/destination.js';
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
  /** Nothing was dialled for this request (an idle kept-alive connection, or the parent proxy's own pool). */
  reused: boolean;
  /** The exchange is over (answered, failed or abandoned): its connection counts as idle again. Idempotent. */
  done(): void;
}

/**
 * A pool and what prepare() needs to know of it, counted here: undici's pool.stats builds a
 * stats object from six getters that each walk every connection (2.4 % of the proxy's CPU per
 * request at 32 connections, cpu-prof); only "is one idle?" is asked, once per request.
 */
interface PoolEntry {
  pool: Pool;
  /** Connections the pool holds ('connect' minus 'disconnect' events). */
  connected: number;
  /** Exchanges given this pool by prepare() and not yet done(). */
  busy: number;
}

const NOTHING = (): void => undefined;

/** A connection dialled for a pool that has not taken it yet; release() stops watching it. */
interface Spare {
  socket: Socket;
  release(): void;
}

/** A connection dialled by prepare() is kept this long for its pool to take, then closed. */
const SPARE_MS = 10_000;
/** A pool left with no connection is closed this long after it was dropped from the map. */
const POOL_GRACE_MS = 5_000;

type Undici = typeof import('undici');
let undici: Promise<Undici> | undefined;
/**
 * undici is loaded by the first absolute-URI request, not at start: it is the largest module
 * forward mode imports (about +18 MiB RSS and a fifth of the start-up), and a proxy that only
 * tunnels never needs it. The first request loads it while its connection is being dialled.
 */
const loadUndici = () => (undici ??= import('undici'));

/**
 * Kept-alive connections for absolute-URI forwarding, one undici Pool per dialled address (never
 * per name: a pooled connection is never re-resolved). When a pool has no idle connection the
 * pipeline dials one itself before the request is sent, so that a refusing address is seen in
 * the dial step and the next allowed address is tried, as for CONNECT; the pool then takes
 * that connection. A pool is dropped once it has no connection and nothing queued (after a
 * disconnect, a failed connect or an unused spare), so the map is bounded by the destinations
 * in use.
 */
export class AddressPools {
  private readonly pools = new Map<string, PoolEntry>();
  /** Pools dropped from the map and waiting out their grace period, so close() closes them too. */
  private readonly dropped = new Set<Pool>();
  private readonly spare = new Map<string, Spare[]>();
  private parentAgent: Agent | undefined;
  private lib: Undici | undefined;
  private closed = false;

  constructor(private readonly timeouts: PoolTimeouts) {}

  /** A pooled connection to ip:port: an idle one, or a new one dialled now (a dial failure rejects here). */
  async prepare(ip: string, port: number): Promise<PooledTarget> {
    const origin = `http://${formatHostPort(ip, port)}`;
    const existing = this.pools.get(origin);
    if (existing && existing.connected > existing.busy) return this.take(existing, origin, true);
    const [conn, lib] = await Promise.all([UpstreamConnection.dial(ip, port, this.timeouts.connect, false), loadUndici()]);
    this.lib = lib;
    if (this.closed) {
      conn.destroy();
      throw new Error('the proxy is closing');
    }
    this.park(origin, conn.socket);
    // Looked up after the dial: the pool seen before it may have lost its last connection and been dropped meanwhile.
    return this.take(this.pool(origin, ip, port), origin, false);
  }

  private take(entry: PoolEntry, origin: string, reused: boolean): PooledTarget {
    entry.busy++;
    let counted = true;
    const done = () => {
      if (counted) entry.busy--;
      counted = false;
    };
    return { dispatcher: entry.pool, origin, reused, done };
  }

  /** The parent proxy resolves and dials; its connections are pooled by its URL. */
  async parent(origin: string): Promise<PooledTarget> {
    const { Agent } = await loadUndici();
    if (this.closed) throw new Error('the proxy is closing');
    this.parentAgent ??= new Agent(this.clientOptions());
    return { dispatcher: this.parentAgent, origin, reused: true, done: NOTHING };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const list of this.spare.values()) for (const s of list) s.socket.destroy();
    this.spare.clear();
    const all = [...[...this.pools.values()].map((e) => e.pool), ...this.dropped, ...(this.parentAgent ? [this.parentAgent] : [])];
    this.pools.clear();
    this.dropped.clear();
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

  private pool(origin: string, ip: string, port: number): PoolEntry {
    const known = this.pools.get(origin);
    if (known) return known;
    // prepare() loaded undici before calling here.
    const pool = new this.lib!.Pool(origin, {
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
    const entry: PoolEntry = { pool, connected: 0, busy: 0 };
    pool.on('connect', () => entry.connected++);
    pool.on('disconnect', () => {
      entry.connected--;
      this.dropIfEmpty(origin, entry);
    });
    pool.on('connectionError', () => this.dropIfEmpty(origin, entry));
    this.pools.set(origin, entry);
    return entry;
  }

  private dropIfEmpty(origin: string, entry: PoolEntry): void {
    const { pool } = entry;
    const s = pool.stats;
    if (s.connected > 0 || s.size > 0 || s.queued > 0 || this.pools.get(origin) !== entry) return;
    this.pools.delete(origin);
    this.dropped.add(pool);
    // Closed a little later: a request that lost this connection is sent once more on the
    // same pool (relay's retry), and close() would refuse it; close() waits for what is queued.
    setTimeout(() => {
      this.dropped.delete(pool);
      void pool.close().catch(() => undefined);
    }, POOL_GRACE_MS).unref();
  }

  /** Keeps a dialled connection for its pool; until taken, a close (or SPARE_MS unused) only drops it. */
  private park(origin: string, socket: Socket): void {
    const unpark = () => this.dropSpare(origin, spare);
    const timer = setTimeout(unpark, SPARE_MS).unref();
    const spare: Spare = {
      socket,
      release: () => {
        clearTimeout(timer);
        socket.off('close', unpark);
      },
    };
    socket.once('close', unpark);
    const list = this.spare.get(origin) ?? [];
    list.push(spare);
    this.spare.set(origin, list);
  }

  private takeSpare(origin: string): Socket | undefined {
    const list = this.spare.get(origin);
    let spare = list?.shift();
    // Destroyed but its 'close' not emitted yet: never handed to a pool.
    while (spare?.socket.destroyed) {
      spare.release();
      spare = list?.shift();
    }
    if (list && list.length === 0) this.spare.delete(origin);
    spare?.release();
    return spare?.socket;
  }

  private dropSpare(origin: string, spare: Spare): void {
    spare.release();
    spare.socket.destroy();
    const list = this.spare.get(origin);
    const i = list?.indexOf(spare) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list?.length === 0) this.spare.delete(origin);
    const entry = this.pools.get(origin);
    if (entry) this.dropIfEmpty(origin, entry);
  }
}
