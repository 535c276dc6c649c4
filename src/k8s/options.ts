import { normaliseBasePath } from '../config/ui-base-path.js';
import { K8sError } from './errors.js';
import { MODE_PROFILES, type RenderMode } from './modes.js';

export type IssuerKind = 'Issuer' | 'ClusterIssuer';

export interface CertManagerOptions {
  /** An existing CA issuer; when absent a self-signed bootstrap CA and its Issuer are rendered. */
  issuer?: { name: string; kind: IssuerKind };
}

export interface RenderOptions {
  mode: RenderMode;
  namespace: string;
  image: string;
  replicas: number;
  /** A parsed egresskit config file; the Kubernetes-specific settings are laid over it. */
  config?: unknown;
  /** Names the config in error messages (the file path). */
  configSource?: string;
  /** mtls only: cert-manager Certificates instead of a Secret created by hand. */
  certManager?: CertManagerOptions;
  /** Adds a Namespace document (the kustomize bases do, so `kubectl apply -k` works on a fresh cluster). */
  createNamespace?: boolean;
  /** Where the example workload NetworkPolicy goes; absent: no namespace, so `kubectl apply -n NS` decides. */
  workloadNamespace?: string;
  /** inspect only: a PersistentVolumeClaim of this size (e.g. 1Gi) holds the flows database (inspect.flowsDb). */
  flowsDbSize?: string;
  /** inspect only: an Ingress for the UI (sets inspect.uiBasePath and inspect.uiAllowedHosts to match). */
  uiIngress?: UiIngressOptions;
}

export interface UiIngressOptions {
  host: string;
  /** Normalised base path: "/" or "/a/b/". */
  path: string;
  className?: string;
  /** A kubernetes.io/tls Secret for host. */
  tlsSecret?: string;
  /** The namespace of the ingress controller, let through the NetworkPolicy to the UI port. */
  controllerNamespace: string;
}

export const DEFAULT_INGRESS_CONTROLLER_NAMESPACE = 'ingress-nginx';

/** `--ui-ingress HOST[/PATH]`, e.g. egress.example.com/egress. */
export function parseUiIngress(value: string): { host: string; path: string } {
  const slash = value.indexOf('/');
  const host = (slash < 0 ? value : value.slice(0, slash)).toLowerCase();
  const path = normaliseBasePath(slash < 0 ? '/' : value.slice(slash));
  if (!SUBDOMAIN.test(host)) {
    throw new K8sError(`--ui-ingress '${value}': '${host}' is not a host name; use HOST[/PATH], e.g. --ui-ingress egress.example.com/egress`);
  }
  if (path === undefined) {
    throw new K8sError(`--ui-ingress '${value}': the path is not a prefix an Ingress can route; use letters, digits and - . _ ~ between slashes, e.g. /egress`);
  }
  return { host, path };
}

// Kept in step with package.json's version by a unit test.
export const DEFAULT_IMAGE = 'ghcr.io/egresskit/egresskit:0.1.0';
export const DEFAULT_NAMESPACE = 'egresskit';
export const DEFAULT_REPLICAS = 2;
export const MAX_REPLICAS = 1000;

/** --replicas when not given: 2 keeps a stateless proxy up through a node drain; inspect runs one. */
export function defaultReplicas(mode: RenderMode): number {
  return MODE_PROFILES[mode].singleReplica ? 1 : DEFAULT_REPLICAS;
}

// DNS-1123 label (namespaces) and subdomain (most object names), as the API server checks them.
const LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function checkNamespace(value: string, flag = '--namespace'): string {
  if (!LABEL.test(value)) {
    throw new K8sError(`${flag} '${value}' is not a valid namespace: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`);
  }
  return value;
}

export function checkObjectName(value: string, flag: string): string {
  if (!SUBDOMAIN.test(value)) {
    throw new K8sError(`${flag} '${value}' is not a valid Kubernetes name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`);
  }
  return value;
}

export function checkImage(value: string): string {
  if (value === '' || /\s/.test(value)) {
    throw new K8sError(`--image '${value}' is not an image reference: use e.g. --image ghcr.io/egresskit/egresskit:0.1.0 or registry.corp/egresskit@sha256:...`);
  }
  return value;
}

export function parseReplicas(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS) {
    throw new K8sError(`--replicas '${value}' must be a whole number from 1 to ${MAX_REPLICAS} (2 or more keeps the proxy up while a node drains)`);
  }
  return n;
}

export function checkRenderOptions(options: RenderOptions): void {
  checkNamespace(options.namespace);
  checkImage(options.image);
  parseReplicas(options.replicas);
  if (MODE_PROFILES[options.mode].singleReplica && options.replicas !== 1) {
    throw new K8sError(
      `--replicas ${options.replicas}: ${options.mode} keeps its flows in one process's memory, so it runs exactly one replica (a second Pod would see only some of the traffic): drop --replicas`,
    );
  }
  if (options.workloadNamespace !== undefined) checkNamespace(options.workloadNamespace, '--workload-namespace');
  if (options.certManager && options.mode !== 'mtls') {
    throw new K8sError(`--cert-manager only applies to mtls (the ${options.mode} proxy has no certificates): drop --cert-manager, or render mtls`);
  }
  if (options.certManager?.issuer) checkObjectName(options.certManager.issuer.name, '--issuer');
  if (options.uiIngress !== undefined) {
    if (options.mode !== 'inspect') {
      throw new K8sError(`--ui-ingress only applies to inspect (the ${options.mode} proxy has no UI): drop --ui-ingress, or render inspect`);
    }
    parseUiIngress(`${options.uiIngress.host}${options.uiIngress.path}`);
    if (options.uiIngress.className !== undefined) checkObjectName(options.uiIngress.className, '--ui-ingress-class');
    if (options.uiIngress.tlsSecret !== undefined) checkObjectName(options.uiIngress.tlsSecret, '--ui-ingress-tls');
    checkNamespace(options.uiIngress.controllerNamespace, '--ui-ingress-controller-namespace');
  }
  if (options.flowsDbSize !== undefined) {
    if (options.mode !== 'inspect') {
      throw new K8sError(`--flows-db-size only applies to inspect (the ${options.mode} proxy keeps no flows): drop --flows-db-size, or render inspect`);
    }
    checkStorageSize(options.flowsDbSize);
  }
}

// A Kubernetes quantity as people write storage sizes: 1Gi, 500Mi, 10G, 1.5Ti.
const STORAGE_SIZE = /^(?=.*[1-9])\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

export function checkStorageSize(value: string): string {
  if (!STORAGE_SIZE.test(value)) {
    throw new K8sError(`--flows-db-size '${value}' is not a storage size: use a Kubernetes quantity such as 1Gi or 500Mi`);
  }
  return value;
}
