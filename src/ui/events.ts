import type { ServerResponse } from 'node:http';
import type { Flow } from '../flows/flow.js';
import type { FlowEvent } from '../flows/flow-store.js';
import type { FlowSource } from './flow-source.js';
import { flowSummary } from './flow-json.js';

export interface EventStreamOptions {
  heartbeatMs: number;
  /** A client that stops reading is dropped once this much is queued for it. */
  maxQueuedBytes: number;
}

/**
 * Streams store events to one client as text/event-stream (`event: flow`, data
 * {type, flow: summary} | {type: 'clear'} | {type: 'evict', id}). Everything it attached is
 * detached when the client goes away.
 */
export function streamEvents(store: FlowSource, res: ServerResponse, opts: EventStreamOptions, onClose: () => void): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
  });
  res.write(': egresskit flow events\nretry: 2000\n\n');

  const send = (data: unknown): void => {
    if (res.writableLength > opts.maxQueuedBytes) {
      res.destroy();
      return;
    }
    res.write(`event: flow\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const onFlow = (ev: FlowEvent): void => {
    send(ev.flow ? { type: ev.type, flow: flowSummary(ev.flow) } : { type: ev.type });
  };
  const onEvict = (flow: Flow): void => send({ type: 'evict', id: flow.id });
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
