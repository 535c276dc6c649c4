import type { Flow } from '../flows/flow.js';
import type { FlowEvent, FlowListQuery } from '../flows/flow-store.js';

/**
 * What the UI reads flows from. The in-process FlowStore is one; a control plane serving
 * several data planes (or a read-only view of a flows database) can be another.
 */
export interface FlowSource {
  readonly size: number;
  list(query?: FlowListQuery): Flow[];
  get(id: string): Flow | undefined;
  /** HAR import adds read-only flows. */
  add(flow: Flow): void;
  delete(id: string): boolean;
  clear(): void;
  on(event: 'flow', listener: (e: FlowEvent) => void): unknown;
  on(event: 'evict', listener: (flow: Flow) => void): unknown;
  off(event: 'flow', listener: (e: FlowEvent) => void): unknown;
  off(event: 'evict', listener: (flow: Flow) => void): unknown;
}
