import type { LeafIssuer } from '../certs/leaf.js';
import type { Config } from '../config/schema.js';
import type { TicketKeys } from '../listeners/ticket-keys.js';
import type { CaptureHook } from '../model/exchange.js';
import { createInterceptor, type Interceptor } from './interceptor.js';
import { LeafCache } from './leaf-cache.js';
import { upstreamTrust } from './upstream-tls.js';

/** The CA the control plane bootstrapped, as interception needs it. */
export interface InterceptionCA {
  issuer: LeafIssuer;
  /** Named in the hint when a client refuses a minted certificate. */
  certFile: string;
}

/** The data plane's part of inspect mode: leaf cache, upstream trust and the interceptor hand-off. */
export function createInterception(config: Config, capture: CaptureHook, ca: InterceptionCA, tickets?: TicketKeys): Interceptor {
  const cfg = config.inspect!;
  return createInterceptor({
    config,
    leaves: new LeafCache(ca.issuer, cfg.leafCacheSize, tickets),
    upstream: { trust: upstreamTrust(cfg.upstreamCa), insecure: cfg.insecureUpstream, timeoutMs: config.timeouts.connect },
    passthrough: cfg.passthrough,
    capture,
    caCertFile: ca.certFile,
  });
}
