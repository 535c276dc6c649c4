import type { ServerResponse } from 'node:http';
import { BodyTextCache, flowSubject } from '../flows/flow-subject.js';
import type { Flow } from '../flows/flow.js';
import type { FlowEvent } from '../flows/flow-store.js';
import type { FilterPredicate } from '../flows/filter/match.js';
import { flowMatches } from '../flows/select-flows.js';
import { MAX_DECODED_EXPORT } from '../flows/har-body.js';
import type { FlowSource } from './flow-source.js';
import { flowSummary } from './flow-json.js';

export interface StreamFilter {
  predicate: FilterPredicate;
  /** Body filters decode asynchronously: their events then go through a queue to stay in order. */
  usesBodies: boolean;
}

export interface EventStreamOptions {
  heartbeatMs: number;
  /** A client that stops reading is dropped once this much is queued for it. */
  maxQueuedBytes: number;
  /** Only flows that match are sent; one that stops matching is sent as evicted. */
  filter?: StreamFilter | null;
  /** Decoded body text shared with the list (one per UI). */
  cache?: BodyTextCache;
}

type Outgoing = { type: 'add' | 'update'; flow: ReturnType<typeof flowSummary> } | { type: string; id?: string };

/**
 * Streams store events to one client as text/event-stream (`event: flow`, data
 * {type: add|update, flow: summary} | {type: 'clear'} | {type: 'evict', id} | {type: 'delete', id}).
 * Everything it attached is detached when the client goes away.
 */
export function streamEvents(store: FlowSource, res: ServerResponse, opts: EventStreamOptions, onClose: () => void): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
  });
  res.write(': egresskit flow events\nretry: 2000\n\n');

  const send = (data: Outgoing): void => {
    if (res.destroyed) return;
    if (res.writableLength > opts.maxQueuedBytes) {
      res.destroy();
      return;
    }
    res.write(`event: flow\ndata: ${JSON.stringify(data)}\n\n`);
  };

  const filter = opts.filter ?? null;
  // Ids this client was sent: an update that stops matching must take the row away again.
  const sent = new Set<string>();
  const cache = opts.cache ?? new BodyTextCache();

  const deliver = (ev: FlowEvent, matches: boolean): void => {
    const flow = ev.flow;
    if (ev.type === 'clear') {
      sent.clear();
      return send({ type: 'clear' });
    }
    if (ev.type !== 'add' && ev.type !== 'update') {
      // 'delete' (one flow removed from the store), and any later kind: the client drops the row.
      const id = flow?.id ?? (ev as { id?: string }).id;
      if (id === undefined) return send({ type: ev.type });
      if (filter === null || sent.delete(id)) send({ type: ev.type, id });
      return;
    }
    if (!flow) return;
    if (matches) {
      const type = filter === null || sent.has(flow.id) ? ev.type : 'add';
      sent.add(flow.id);
      return send({ type, flow: flowSummary(flow) });
    }
    if (sent.delete(flow.id)) send({ type: 'evict', id: flow.id });
  };

  let queue = Promise.resolve();
  const onFlow = (ev: FlowEvent): void => {
    if (filter === null || !ev.flow || (ev.type !== 'add' && ev.type !== 'update')) {
      if (filter?.usesBodies) queue = queue.then(() => deliver(ev, true));
      else deliver(ev, true);
      return;
    }
    if (!filter.usesBodies) {
      deliver(ev, filter.predicate(flowSubject(ev.flow, cache)));
      return;
    }
    const flow = ev.flow;
    queue = queue
      .then(() => (res.destroyed ? false : flowMatches(flow, filter.predicate, cache, { left: MAX_DECODED_EXPORT })))
      .then((m) => deliver(ev, m))
      .catch(() => {
        res.destroy();
      });
  };
  const onEvict = (flow: Flow): void => {
    const go = (): void => {
      if (filter === null || sent.delete(flow.id)) send({ type: 'evict', id: flow.id });
    };
    if (filter?.usesBodies) queue = queue.then(go);
    else go();
  };
  const heartbeat = setInterval(() => {
    if (res.writableLength <= opts.maxQueuedBytes) res.write(': heartbeat\n\n');
  }, opts.heartbeatMs);
  heartbeat.unref();

  store.on('flow', onFlow);
  store.on('evict', onEvict);
  let closed = false;
  res.on('close', () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    store.off('flow', onFlow);
    store.off('evict', onEvict);
    onClose();
  });
}
