import { recordChannel } from '../model/channels.js';
import type { ProxyRecord } from '../model/record.js';
import type { FlowStore } from '../flows/flow-store.js';
import { recordFlow, recordNeedsFlow } from '../flows/record-flow.js';

/**
 * Adds a flow for every record of this proxy that no captured exchange describes: denied and
 * failed requests, passed-through tunnels, clients that refused the CA. Without them the UI
 * would show only what went through interception, and "why is my request failing" would have
 * no row to click. `captured` holds the records the capture hook already turned into flows.
 * Returns the unsubscribe function.
 */
export function addRecordFlows(store: FlowStore, instance: string, captured: WeakSet<ProxyRecord>): () => void {
  const onRecord = (message: unknown): void => {
    const r = message as ProxyRecord;
    if (r.instance !== instance || captured.has(r) || !recordNeedsFlow(r)) return;
    store.add(recordFlow(r));
  };
  recordChannel.subscribe(onRecord);
  return () => recordChannel.unsubscribe(onRecord);
}
