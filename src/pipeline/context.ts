import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema.js';
import type { Htpasswd } from '../identity/htpasswd.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { SelfAddresses } from '../policy/decide.js';
import type { Decision } from '../model/decision.js';
import type { NoProxyEntry } from '../upstream/no-proxy.js';
import type { ParentProxy } from '../upstream/parent-proxy.js';
import type { AddressPools } from '../upstream/address-pools.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import type { Destination } from '../model/destination.js';
import type { CaptureHook } from '../model/exchange.js';
import type { ProxyRecord } from '../model/record.js';
import type { Hop } from './entry.js';
import type { TunnelGuards } from './guards.js';

/**
 * What a reload replaces, as one value: the compiled policy and the users, built completely
 * (parsed, compiled, checked) before it is swapped in. `id` is a short hash of what it was built
 * from, so the same files give the same id in every replica and after a restart.
 */
export interface ConfigVersion {
  id: string;
  policy: CompiledPolicy;
  htpasswd: Htpasswd | undefined;
}

/** The one place the current version is held; the control plane swaps `current`, the pipeline reads it once per decision. */
export interface LiveConfig {
  readonly current: ConfigVersion;
}

/**
 * Everything a connection handler needs, built once per proxy instance. `config` is the
 * configuration the proxy started with (listeners, timeouts, limits: not reloaded); policy and
 * users are read from `live`, once per decision, so one decision never mixes two versions.
 */
export interface ProxyContext {
  instance: string;
  config: Config;
  live: LiveConfig;
  parent: ParentProxy | undefined;
  noProxy: NoProxyEntry[];
  self: SelfAddresses;
  /** Pooled upstream connections for absolute-URI forwarding, keyed by dialed address. */
  pools: AddressPools;
  state: ProxyState;
  /** Per-identity budgets, tunnel ages and the SNI check's time bound. */
  guards: TunnelGuards;
  /** Inspect mode: observes each HTTP exchange (plain and intercepted). Absent in forward/mtls. */
  capture?: CaptureHook | undefined;
  /** Inspect mode: the alternative hand-off to runTunnel for CONNECT. Absent in forward/mtls. */
  intercept?: InterceptHandOff | undefined;
}

export interface ProxyState {
  draining: boolean;
  /** Open client connections, for the connection limit. */
  connections: number;
  /** Live tunnels, so a drain can wait for them and then end them. */
  tunnels: Set<{ destroy(): void }>;
}

/** A CONNECT that policy allowed, dialed and answered with 200. */
export interface HandOff {
  client: Duplex;
  upstream: UpstreamConnection;
  head: Buffer;
  record: ProxyRecord;
  dest: Destination;
  /** The decided address (or parent) the upstream goes to; exchanges inside the tunnel reuse it. */
  hop: Hop;
  /** Opens another connection to the same, already-decided address (after an upstream close). */
  redial(): Promise<UpstreamConnection>;
}

export interface InterceptHandOff {
  /** False for passthrough hosts (flags or a rule's `inspect: passthrough`): those are tunnelled. */
  wants(dest: Destination, decision: Decision | undefined): boolean;
  run(ctx: ProxyContext, h: HandOff): Promise<void>;
}
