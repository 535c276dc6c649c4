import diagnostics_channel from 'node:diagnostics_channel';
import type { ProxyRecord } from './record.js';

/**
 * The core publishes; observers (log, metrics, flow store, a user's own code) subscribe. Names
 * are public API. Messages carry the instance id so several proxies in one process (a test
 * suite using the library) can be told apart.
 */
export const recordChannel = diagnostics_channel.channel('egresskit:record');
export const tunnelChannel = diagnostics_channel.channel('egresskit:tunnel');
export const lifecycleChannel = diagnostics_channel.channel('egresskit:lifecycle');

export interface TunnelEvent {
  instance: string;
  open: boolean;
}

export interface LifecycleEvent {
  instance: string;
  event: 'listening' | 'draining' | 'closed' | 'reloaded' | 'reload_failed' | 'warning';
  detail: Record<string, unknown>;
}

export function publishRecord(record: ProxyRecord): void {
  if (record.durationMs === undefined) record.durationMs = Math.round((performance.now() - record.start) * 100) / 100;
  if (recordChannel.hasSubscribers) recordChannel.publish(record);
}

export function publishTunnel(event: TunnelEvent): void {
  if (tunnelChannel.hasSubscribers) tunnelChannel.publish(event);
}

export function publishLifecycle(event: LifecycleEvent): void {
  if (lifecycleChannel.hasSubscribers) lifecycleChannel.publish(event);
}
