import type { Agent } from 'undici';
import type { Config } from '../config/schema.js';
import type { Htpasswd } from '../identity/htpasswd.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { SelfAddresses } from '../policy/decide.js';
import type { NoProxyEntry } from '../upstream/no-proxy.js';
import type { ParentProxy } from '../upstream/parent-proxy.js';

/** Everything a connection handler needs, built once per proxy instance. */
export interface ProxyContext {
  instance: string;
  config: Config;
  policy: CompiledPolicy;
  htpasswd: Htpasswd | undefined;
  parent: ParentProxy | undefined;
  noProxy: NoProxyEntry[];
  self: SelfAddresses;
  /** Pooled upstream connections for absolute-URI forwarding, keyed by dialed address. */
  agent: Agent;
  state: ProxyState;
}

export interface ProxyState {
  draining: boolean;
  /** Open client connections, for the connection limit. */
  connections: number;
  /** Live tunnels, so a drain can wait for them and then end them. */
  tunnels: Set<{ destroy(): void }>;
}
