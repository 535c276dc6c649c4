import type { Config } from '../config/schema.js';
import type { LifecycleEvent, TlsEvent } from '../model/channels.js';
import type { ErrorCode } from '../model/error-table.js';
import type { ExchangeStart, HeaderPairs } from '../model/exchange.js';
import type { PhaseTimings, ProxyRecord } from '../model/record.js';

/**
 * The messages between the primary and its workers (cluster IPC with `serialization:
 * 'advanced'`, so records keep their shape and body chunks stay Buffers). Plain data only: the
 * same things that cross the data/control seam in one process (records, tunnel and lifecycle
 * events, capture events going up; version, ports and drain going down).
 */
export type ToWorker =
  | {
      t: 'start';
      index: number;
      instance: string;
      /** The running config, with the policy and auth sections of the latest applied reload. */
      config: Config;
      /** TLS session ticket keys shared by every worker (a ticket from one resumes on another). */
      ticketSecret: Buffer;
      ports: number[];
      /** The port to listen on: the configured one, or the one the first worker bound for port 0. */
      port: number;
      reusePort: boolean;
    }
  | { t: 'version'; policy: Config['policy']; auth: Config['auth'] }
  | { t: 'ports'; ports: number[] }
  | { t: 'checkTls' }
  | { t: 'drain'; ms: number };

export type ToPrimary =
  /** The worker's module is loaded and listens for messages (one sent before would be lost). */
  | { t: 'hello' }
  | { t: 'listening'; address: string; port: number }
  | { t: 'failed'; message: string; code: string | undefined; address: string | undefined; port: number | undefined }
  | { t: 'version'; id: string }
  | { t: 'batch'; items: Item[]; tunnels: number }
  | { t: 'stats'; rss: number; heapUsed: number; cpuSeconds: number; elu: number }
  | { t: 'drained'; cut: number };

/** A capture event's body chunk: the bytes while under the capture cap, then only their count. */
export type Chunk = Buffer | number;

/** What an exchange start carries: ExchangeStart without its record (sent by id) and its function. */
export type StartWire = Omit<ExchangeStart, 'record' | 'tls'> & {
  /** The TLS facts at this moment; undefined when the exchange has none to report. */
  tls: Record<string, unknown> | undefined;
  hasTls: boolean;
};

/**
 * One batched event. Records go with an id (`rid`, 0 for none) when an exchange started from
 * them, so the primary can publish the very object its capture hook saw (the flow store's
 * "already captured" check is by identity).
 */
export type Item =
  | ['r', ProxyRecord, number]
  /** A record's log line, formatted in the worker: the primary only writes the bytes. */
  | ['L', string]
  | ['l', LifecycleEvent]
  /** A TLS handshake or leaf-cache lookup (counted by the primary's metrics). */
  | ['t', TlsEvent]
  | ['xs', number, number, ProxyRecord, StartWire]
  | ['xq', number, Chunk]
  | ['xqe', number]
  | ['xr', number, number, string, HeaderPairs, Record<string, unknown> | undefined]
  | ['xd', number, Chunk]
  | ['xe', number, HeaderPairs, PhaseTimings]
  | ['xf', number, ErrorCode, string, Record<string, unknown> | undefined, PhaseTimings]
  | ['xw', number, 'send' | 'receive', number, Buffer]
  | ['xn', number, { closeCode?: number; closeReason?: string; captureError?: string }];
