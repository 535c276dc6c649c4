import { EventEmitter } from 'node:events';
import type { Flow, HeaderList } from './flow.js';

export interface FlowStoreOptions {
  maxFlows?: number;
  /** Captured body bytes (request + response) across all flows. */
  maxBytes?: number;
  /** Header names (any case) whose values are stored as [REDACTED]. */
  redact?: string[];
}

export interface FlowListQuery {
  /** Case-insensitive substring of the host. */
  host?: string;
  /** Exact method, any case. */
  method?: string;
  /** An exact status (200, "404"), a class ("4xx"), or "error" for flows that failed. */
  status?: number | string;
  /** Case-insensitive substring of the URL, host, method or any header value. */
  search?: string;
  limit?: number;
  /** Only flows added after this one (if it is still in the store). */
  sinceId?: string;
}

export interface FlowEvent {
  /** delete: one flow removed on request (the UI's delete), with the flow that went. */
  type: 'add' | 'update' | 'delete' | 'clear';
  flow?: Flow;
}

export const REDACTED = '[REDACTED]';
const MiB = 1024 * 1024;

/**
 * Bounded in-memory flow store: the oldest flows go once either the count or the captured
 * body bytes exceed their limit (mitmproxy's long captures grew without bound).
 *
 * Events: 'flow' ({type: add | update | delete | clear, flow?}) and 'evict' (flow) when a flow is
 * dropped to stay within bounds. A flow that is evicted and later updated stays evicted.
 */
export class FlowStore extends EventEmitter {
  readonly maxFlows: number;
  readonly maxBytes: number;
  readonly #redact: Set<string>;
  // Insertion order is age order: the first key is the oldest flow.
  readonly #flows = new Map<string, { flow: Flow; bytes: number }>();
  #bytes = 0;

  constructor({ maxFlows = 1000, maxBytes = 64 * MiB, redact = [] }: FlowStoreOptions = {}) {
    super();
    if (!Number.isInteger(maxFlows) || maxFlows < 1) throw new RangeError(`flow store maxFlows must be a positive integer, got ${maxFlows}`);
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`flow store maxBytes must be a non-negative number, got ${maxBytes}`);
    this.maxFlows = maxFlows;
    this.maxBytes = maxBytes;
    this.#redact = new Set(redact.map((n) => n.trim().toLowerCase()).filter((n) => n !== ''));
  }

  get size(): number {
    return this.#flows.size;
  }

  /** Captured body bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  add(flow: Flow): void {
    const existing = this.#flows.get(flow.id);
    if (existing) {
      this.update(flow);
      return;
    }
    this.#redactFlow(flow);
    const bytes = flowBytes(flow);
    this.#flows.set(flow.id, { flow, bytes });
    this.#bytes += bytes;
    this.#evict();
    if (this.#flows.has(flow.id)) this.emit('flow', { type: 'add', flow } satisfies FlowEvent);
  }

  /** Call after mutating a stored flow; returns false when it is not (or no longer) stored. */
  update(flow: Flow): boolean {
    const entry = this.#flows.get(flow.id);
    if (!entry) return false;
    entry.flow = flow;
    this.#redactFlow(flow);
    const bytes = flowBytes(flow);
    this.#bytes += bytes - entry.bytes;
    entry.bytes = bytes;
    this.#evict();
    if (!this.#flows.has(flow.id)) return false;
    this.emit('flow', { type: 'update', flow } satisfies FlowEvent);
    return true;
  }

  /**
   * Puts back flows kept from an earlier run (a flows database), oldest first, into an empty
   * store. No 'flow' events: they are not new, and whoever kept them already has them. Flows
   * beyond the bounds are evicted as usual, with 'evict'.
   */
  restore(flows: Flow[]): void {
    if (this.#flows.size > 0) throw new Error('FlowStore.restore() fills an empty store; call it before the first add()');
    for (const flow of flows) {
      if (this.#flows.has(flow.id)) continue;
      // The redact list may have grown since the flow was captured.
      this.#redactFlow(flow);
      const bytes = flowBytes(flow);
      this.#flows.set(flow.id, { flow, bytes });
      this.#bytes += bytes;
    }
    this.#evict();
  }

  get(id: string): Flow | undefined {
    return this.#flows.get(id)?.flow;
  }

  /** Newest first. */
  list(query: FlowListQuery = {}): Flow[] {
    const all = [...this.#flows.values()].map((e) => e.flow);
    let start = 0;
    if (query.sinceId !== undefined) {
      const i = all.findIndex((f) => f.id === query.sinceId);
      if (i >= 0) start = i + 1;
    }
    const match = matcher(query);
    const limit = query.limit !== undefined && query.limit >= 0 ? Math.floor(query.limit) : Infinity;
    const out: Flow[] = [];
    for (let i = all.length - 1; i >= start && out.length < limit; i--) {
      const f = all[i] as Flow;
      if (match(f)) out.push(f);
    }
    return out;
  }

  /** Removes one flow; emits 'flow' {type: 'delete', flow}. False when it is not stored. */
  delete(id: string): boolean {
    const entry = this.#flows.get(id);
    if (!entry) return false;
    this.#flows.delete(id);
    this.#bytes -= entry.bytes;
    this.emit('flow', { type: 'delete', flow: entry.flow } satisfies FlowEvent);
    return true;
  }

  clear(): void {
    this.#flows.clear();
    this.#bytes = 0;
    this.emit('flow', { type: 'clear' } satisfies FlowEvent);
  }

  #evict(): void {
    while (this.#flows.size > 0 && (this.#flows.size > this.maxFlows || this.#bytes > this.maxBytes)) {
      const [id, entry] = this.#flows.entries().next().value as [string, { flow: Flow; bytes: number }];
      this.#flows.delete(id);
      this.#bytes -= entry.bytes;
      this.emit('evict', entry.flow);
    }
  }

  #redactFlow(flow: Flow): void {
    if (this.#redact.size === 0) return;
    // New arrays rather than edits in place: the engine may still hold the originals.
    flow.request.headers = redactHeaders(flow.request.headers, this.#redact);
    if (flow.response) {
      flow.response.headers = redactHeaders(flow.response.headers, this.#redact);
      if (flow.response.trailers) flow.response.trailers = redactHeaders(flow.response.trailers, this.#redact);
    }
  }
}

function redactHeaders(headers: HeaderList, names: Set<string>): HeaderList {
  if (!headers.some(([n, v]) => v !== REDACTED && names.has(n.toLowerCase()))) return headers;
  return headers.map(([n, v]) => [n, names.has(n.toLowerCase()) ? REDACTED : v]);
}

/** Captured bytes a flow counts toward maxBytes: bodies and WebSocket message data. */
export function flowBytes(flow: Flow): number {
  let bytes = flow.request.body.captured.length + (flow.response?.body.captured.length ?? 0);
  for (const m of flow.websocket?.messages ?? []) bytes += m.data.captured.length;
  return bytes;
}

function matcher(q: FlowListQuery): (f: Flow) => boolean {
  const host = q.host?.toLowerCase();
  const method = q.method?.toUpperCase();
  const search = q.search?.toLowerCase();
  const status = q.status === undefined ? undefined : String(q.status).toLowerCase();
  return (f) => {
    if (host && !f.host.toLowerCase().includes(host)) return false;
    if (method && f.request.method.toUpperCase() !== method) return false;
    if (status && !statusMatches(f, status)) return false;
    if (search && !searchMatches(f, search)) return false;
    return true;
  };
}

function statusMatches(f: Flow, status: string): boolean {
  if (status === 'error') return f.state === 'error';
  const code = f.response?.status;
  if (code === undefined) return false;
  const cls = /^([1-5])xx$/.exec(status);
  if (cls) return Math.floor(code / 100) === Number(cls[1]);
  return String(code) === status;
}

function searchMatches(f: Flow, s: string): boolean {
  if (f.request.url.toLowerCase().includes(s) || f.host.toLowerCase().includes(s)) return true;
  if (f.request.method.toLowerCase() === s) return true;
  const headers = [...f.request.headers, ...(f.response?.headers ?? [])];
  return headers.some(([n, v]) => n.toLowerCase().includes(s) || v.toLowerCase().includes(s));
}
