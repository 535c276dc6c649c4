import { lifecycleChannel, recordChannel, tlsChannel, tunnelChannel, type LifecycleEvent, type TlsEvent, type TunnelEvent } from '../model/channels.js';
import type { ProxyRecord } from '../model/record.js';
import { Writable } from 'node:stream';
import type { DestinationStream, Logger } from 'pino';
import { logRecord } from '../control/log.js';
import type { Item, ToPrimary } from './worker-protocol.js';

/** Events per IPC message at most, and how long the first of a batch may wait. */
const MAX_BATCH = 256;
const BATCH_DELAY_MS = 5;

/**
 * The worker's half of the seam: what its data plane publishes on the diagnostics channels goes
 * to the primary in batches (a send per few milliseconds or per MAX_BATCH events: one IPC
 * message per connection would cost more than the connection). Tunnel open/close events are
 * only counted: the primary needs the net change, not each event.
 */
export class Batcher {
  #items: Item[] = [];
  #tunnels = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: (message: ToPrimary, done?: () => void) => void) {}

  push(item: Item): void {
    this.#items.push(item);
    if (this.#items.length >= MAX_BATCH) this.flush();
    else this.#schedule();
  }

  tunnel(delta: number): void {
    this.#tunnels += delta;
    this.#schedule();
  }

  /** Sends what is queued now; `done` runs once it is written (or at once when nothing was). */
  flush(done?: () => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#items.length === 0 && this.#tunnels === 0) return void done?.();
    const message: ToPrimary = { t: 'batch', items: this.#items, tunnels: this.#tunnels };
    this.#items = [];
    this.#tunnels = 0;
    this.send(message, done);
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => this.flush(), BATCH_DELAY_MS);
  }
}

/**
 * A pino destination whose lines go into the batch (pino writes one whole line per call).
 * pino-pretty (--log-format pretty) needs a real stream; JSON takes the bare function.
 */
export function batchedLines(batch: Batcher, pretty: boolean): DestinationStream {
  const push = (line: string) => batch.push(['L', line]);
  if (!pretty) return { write: push };
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      push(String(chunk));
      done();
    },
  });
}

/**
 * Forwards this worker's records (tagged with its index), tunnel counts, lifecycle and TLS events.
 * `rids` names the records an exchange started from (worker-capture.ts); `logger` and `json` write
 * each record's line as the primary would (control/log.ts logRecord). Returns the unsubscribe.
 */
export function bridgeChannels(batch: Batcher, instance: string, worker: number, rids: WeakMap<ProxyRecord, number>, logger?: Logger, json?: DestinationStream): () => void {
  const onRecord = (msg: unknown) => {
    const r = msg as ProxyRecord;
    if (r.instance !== instance) return;
    r.worker = worker;
    // Formatting the line here, not in the primary, keeps the one process every record passes
    // through to IPC and a write: formatting was three quarters of its CPU per record (profiled).
    if (logger) logRecord(logger, r, json);
    batch.push(['r', r, rids.get(r) ?? 0]);
  };
  const onTunnel = (msg: unknown) => {
    const e = msg as TunnelEvent;
    if (e.instance === instance) batch.tunnel(e.open ? 1 : -1);
  };
  const onLifecycle = (msg: unknown) => {
    const e = msg as LifecycleEvent;
    if (e.instance === instance) batch.push(['l', e]);
  };
  const onTls = (msg: unknown) => {
    const e = msg as TlsEvent;
    if (e.instance === instance) batch.push(['t', e]);
  };
  recordChannel.subscribe(onRecord);
  tunnelChannel.subscribe(onTunnel);
  lifecycleChannel.subscribe(onLifecycle);
  tlsChannel.subscribe(onTls);
  return () => {
    recordChannel.unsubscribe(onRecord);
    tunnelChannel.unsubscribe(onTunnel);
    lifecycleChannel.unsubscribe(onLifecycle);
    tlsChannel.unsubscribe(onTls);
  };
}
