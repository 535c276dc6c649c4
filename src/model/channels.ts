import diagnostics_channel from 'node:diagnostics_channel';
import type { Phase, ProxyRecord } from './record.js';

/**
 * The core publishes; observers (log, metrics, flow store, a user's own code) subscribe. Names
 * are public API. Messages carry the instance id so several proxies in one process (a test
 * suite using the library) can be told apart.
 */
export const recordChannel = diagnostics_channel.channel('egresskit:record');
export const tunnelChannel = diagnostics_channel.channel('egresskit:tunnel');
export const lifecycleChannel = diagnostics_channel.channel('egresskit:lifecycle');
/** TLS facts with no record of their own: handshakes (resumed or full) and leaf-cache lookups. */
export const tlsChannel = diagnostics_channel.channel('egresskit:tls');

/**
 * One channel per phase, as undici's undici:client:* channels: an observer (a tracer, a test)
 * sees each phase as it completes, with the record it belongs to (not yet final).
 */
export const phaseChannels: Record<Phase, diagnostics_channel.Channel> = {
  dns: diagnostics_channel.channel('egresskit:phase:dns'),
  connect: diagnostics_channel.channel('egresskit:phase:connect'),
  tls: diagnostics_channel.channel('egresskit:phase:tls'),
  ttfb: diagnostics_channel.channel('egresskit:phase:ttfb'),
};

export interface PhaseEvent {
  instance: string;
  phase: Phase;
  ms: number;
  record: ProxyRecord;
}

const PHASE_FIELD = { dns: 'dnsMs', connect: 'connectMs', tls: 'tlsMs', ttfb: 'ttfbMs' } as const;

/** Notes how long a phase took (from `since` to `until`, performance.now() values) on the record and publishes it. */
export function notePhase(record: ProxyRecord, phase: Phase, since: number, until = performance.now()): void {
  const ms = Math.round((until - since) * 100) / 100;
  record.phases[PHASE_FIELD[phase]] = ms;
  const channel = phaseChannels[phase];
  if (channel.hasSubscribers) channel.publish({ instance: record.instance, phase, ms, record } satisfies PhaseEvent);
}

export interface TunnelEvent {
  instance: string;
  open: boolean;
}

/**
 * listener: the mtls port's handshake with a client; intercept: inspect's handshake with the
 * client (a minted leaf); upstream: inspect's verified handshake with the destination.
 */
export type TlsSide = 'listener' | 'intercept' | 'upstream';

export type TlsEvent =
  | { instance: string; event: 'handshake'; side: TlsSide; resumed: boolean }
  | { instance: string; event: 'leaf'; hit: boolean };

export interface LifecycleEvent {
  instance: string;
  /** reloaded / reload_failed: the mtls listener's TLS files; config_*: the config and htpasswd files (policy, users). */
  event: 'listening' | 'draining' | 'closed' | 'reloaded' | 'reload_failed' | 'config_reloaded' | 'config_reload_failed' | 'needs_restart' | 'warning' | 'worker_exited' | 'worker_started';
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

export function publishTls(event: TlsEvent): void {
  if (tlsChannel.hasSubscribers) tlsChannel.publish(event);
}
