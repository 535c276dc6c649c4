import { publishLifecycle, publishRecord, publishTls, publishTunnel } from '../model/channels.js';
import type { CaptureHook, ExchangeCapture, ExchangeStart } from '../model/exchange.js';
import type { ProxyRecord } from '../model/record.js';
import type { Chunk, Item, ToPrimary } from './worker-protocol.js';

/** Records an exchange started from, waiting for their own publication; bounded per worker. */
const MAX_PENDING_RECORDS = 10_000;
const ZEROS = Buffer.alloc(64 * 1024);

interface Open {
  capture: ExchangeCapture;
  start: ExchangeStart;
  tls: { value: Record<string, unknown> | undefined };
}

/**
 * The primary's half of the seam for one worker: its batches are published again on the
 * primary's own diagnostics channels, so the log, metrics, record buffer and flow store (which
 * subscribe there) see every worker as if its data plane ran in this process. Capture events
 * drive the primary's capture hook (the flow store) exactly as a local data plane would.
 */
export class WorkerReplay {
  #records = new Map<number, ProxyRecord>();
  #open = new Map<number, Open>();
  #tunnels = 0;

  constructor(
    private readonly instance: string,
    private readonly worker: number,
    private readonly capture: CaptureHook | undefined,
    private readonly writeLine: (line: string) => void = () => undefined,
  ) {}

  batch(m: Extract<ToPrimary, { t: 'batch' }>): void {
    for (const item of m.items) this.#item(item);
    if (m.tunnels !== 0) this.#tunnelDelta(m.tunnels);
  }

  /** The worker is gone: its tunnels are closed and its unfinished exchanges failed. */
  lost(): void {
    this.#tunnelDelta(-this.#tunnels);
    for (const x of this.#open.values()) x.capture.fail('internal', `worker ${this.worker} exited while the exchange was open`);
    this.#open.clear();
    this.#records.clear();
  }

  #tunnelDelta(delta: number): void {
    this.#tunnels += delta;
    const open = delta > 0;
    for (let i = Math.abs(delta); i > 0; i--) publishTunnel({ instance: this.instance, open });
  }

  #item(item: Item): void {
    switch (item[0]) {
      case 'r': {
        const [, record, rid] = item;
        const seen = rid === 0 ? undefined : this.#records.get(rid);
        if (seen) {
          // The object the capture hook was given, so the flow store knows it as captured.
          this.#records.delete(rid);
          publishRecord(Object.assign(seen, record));
        } else publishRecord(record);
        return;
      }
      case 'L':
        return this.writeLine(item[1]);
      case 't':
        return publishTls({ ...item[1], instance: this.instance });
      case 'l':
        publishLifecycle({ ...item[1], detail: { ...item[1].detail, worker: this.worker } });
        return;
      case 'xs':
        return this.#start(item[1], item[2], item[3], item[4]);
    }
    const open = this.#open.get(item[1]);
    if (!open) return;
    const c = open.capture;
    switch (item[0]) {
      case 'xq':
        return push(item[2], (b) => c.requestData(b));
      case 'xqe':
        return c.requestEnd();
      case 'xr':
        open.tls.value = item[5];
        return c.responseStart(item[2], item[3], item[4]);
      case 'xd':
        return push(item[2], (b) => c.responseData(b));
      case 'xe':
        open.start.record.phases = item[3];
        this.#open.delete(item[1]);
        return c.responseEnd(item[2]);
      case 'xf':
        open.tls.value = item[4];
        open.start.record.phases = item[5];
        this.#open.delete(item[1]);
        return c.fail(item[2], item[3]);
      case 'xw':
        return c.webSocketMessage?.(item[2], item[3], item[4]);
      case 'xn':
        return c.webSocketNote?.(item[2]);
    }
  }

  #start(xid: number, rid: number, wire: ProxyRecord, s: Extract<Item, { 0: 'xs' }>[4]): void {
    if (!this.capture) return;
    let record = this.#records.get(rid);
    if (!record) {
      record = wire;
      this.#records.set(rid, record);
      if (this.#records.size > MAX_PENDING_RECORDS) this.#records.delete(this.#records.keys().next().value!);
    }
    const tls = { value: s.tls };
    const start: ExchangeStart = {
      record,
      scheme: s.scheme,
      host: s.host,
      port: s.port,
      target: s.target,
      httpVersion: s.httpVersion,
      headers: s.headers,
      intercepted: s.intercepted,
      ...(s.hasTls ? { tls: () => tls.value ?? {} } : {}),
    };
    this.#open.set(xid, { capture: this.capture(start), start, tls });
  }
}

/** A body chunk: the bytes, or (past the capture cap) only how many there were. */
function push(chunk: Chunk, to: (b: Buffer) => void): void {
  if (typeof chunk !== 'number') return to(chunk);
  for (let left = chunk; left > 0; left -= ZEROS.length) to(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
}
