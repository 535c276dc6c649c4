import type { Mode } from '../config/schema.js';

/**
 * What differs between modes in Kubernetes, as data. Everything else (probes, security context,
 * policies) is shared, so a new mode is one entry here plus its own resources, if any.
 * inspect slots in later with its two client ports, its CA Secret and no autoscaler.
 */
export interface ModeProfile {
  /** Ports besides the admin port that clients connect to; the first is the config's `listen`. */
  readonly extraPorts: readonly { name: string; port: number }[];
  /** Scaled by a HorizontalPodAutoscaler (stateless modes only). */
  readonly autoscale: boolean;
  /** Mounts a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) and runs with --tls-dir. */
  readonly tlsSecret: boolean;
  /** Name of the proxy port in the container and the Service. */
  readonly proxyPortName: string;
}

export const RENDER_MODES = ['forward', 'mtls'] as const satisfies readonly Mode[];
export type RenderMode = (typeof RENDER_MODES)[number];

export const MODE_PROFILES: Record<RenderMode, ModeProfile> = {
  forward: { extraPorts: [], autoscale: true, tlsSecret: false, proxyPortName: 'proxy' },
  mtls: { extraPorts: [], autoscale: true, tlsSecret: true, proxyPortName: 'proxy' },
};

export function isRenderMode(value: string): value is RenderMode {
  return (RENDER_MODES as readonly string[]).includes(value);
}
