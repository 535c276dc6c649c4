import type { Mode } from '../config/schema.js';

/**
 * What differs between modes in Kubernetes, as data. Everything else (probes, security context,
 * policies) is shared, so a new mode is one entry here plus its own resources, if any.
 */
export interface ModeProfile {
  /** Ports besides the admin port that clients connect to; the first is the config's `listen`. */
  readonly extraPorts: readonly { name: string; port: number }[];
  /** Scaled by a HorizontalPodAutoscaler (stateless modes only). */
  readonly autoscale: boolean;
  /**
   * Exactly one replica, no PodDisruptionBudget: the mode keeps state in one process's memory
   * (inspect's flows), so a second Pod would hold half the flows and a PDB of one Pod would
   * only block node drains.
   */
  readonly singleReplica: boolean;
  /** Mounts a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) and runs with --tls-dir. */
  readonly tlsSecret: boolean;
  /**
   * inspect: mounts the interception CA from a Secret (ca.crt, ca.key) created once by the user,
   * an emptyDir for inspect.caDir (the UI token), and serves the UI on its own port (inspect.ui),
   * which workloads may not reach.
   */
  readonly inspectCa: boolean;
  /** Name of the proxy port in the container and the Service. */
  readonly proxyPortName: string;
  /** The container's memory limit (inspect keeps captured bodies in memory, up to inspect.maxFlowBytes). */
  readonly memoryLimit: string;
}

export const RENDER_MODES = ['forward', 'inspect', 'mtls'] as const satisfies readonly Mode[];
export type RenderMode = (typeof RENDER_MODES)[number];

const STATELESS = { extraPorts: [], autoscale: true, singleReplica: false, inspectCa: false, proxyPortName: 'proxy', memoryLimit: '512Mi' } as const;

export const MODE_PROFILES: Record<RenderMode, ModeProfile> = {
  forward: { ...STATELESS, tlsSecret: false },
  inspect: { extraPorts: [], autoscale: false, singleReplica: true, tlsSecret: false, inspectCa: true, proxyPortName: 'proxy', memoryLimit: '1Gi' },
  mtls: { ...STATELESS, tlsSecret: true },
};

export function isRenderMode(value: string): value is RenderMode {
  return (RENDER_MODES as readonly string[]).includes(value);
}

