import type { FlowSource } from './flow-source.js';
import type { ProxyEndpoint } from './resend.js';

/** What the app's routes (detail, actions, meta, static) need from the server that hosts them. */
export interface AppContext {
  store: FlowSource;
  caCertPem: string;
  /** The CA file on the proxy's machine, named in copied curl commands. */
  caCertFile: string;
  version: string;
  mode: string;
  /** The proxy's bound listener; undefined until it listens (or in a UI without a proxy). */
  proxy: () => ProxyEndpoint | undefined;
  basePath: string;
  tokenRequired: boolean;
  /** Largest HAR file POST api/har reads. */
  maxImportBytes: number;
}
