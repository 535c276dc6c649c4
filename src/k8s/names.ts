/** Names, labels and paths every manifest agrees on; changing one here changes them all. */

export const APP_NAME = 'egresskit';

/** Pods labelled with this may use the proxy; the example workload NetworkPolicy selects them. */
export const EGRESS_LABEL = 'egresskit.io/egress';
/** Pods labelled with this (in the proxy's namespace) may reach the inspect UI port. */
export const UI_LABEL = 'egresskit.io/ui';
export const INJECTED_ANNOTATION = 'egresskit.io/injected';
/** Changes whenever the config does, so a new ConfigMap rolls the Deployment (subPath mounts never update). */
export const CONFIG_HASH_ANNOTATION = 'egresskit.io/config-sha256';

export const CONFIG_DIR = '/etc/egresskit';
export const CONFIG_FILE = `${CONFIG_DIR}/config.yaml`;
export const CONFIG_KEY = 'config.yaml';
export const TLS_DIR = `${CONFIG_DIR}/tls`;
/** inspect: where the CA Secret (ca.crt, ca.key) is mounted read-only. */
export const INSPECT_CA_DIR = `${CONFIG_DIR}/inspect-ca`;
export const INSPECT_CA_CERT = `${INSPECT_CA_DIR}/ca.crt`;
export const INSPECT_CA_KEY = `${INSPECT_CA_DIR}/ca.key`;
/** inspect: inspect.caDir, an emptyDir (the root filesystem is read-only); the UI token is written here. */
export const INSPECT_STATE_DIR = '/var/lib/egresskit';

/** inspect --flows-db-size: the PersistentVolumeClaim's mount, and the flows database on it (inspect.flowsDb). */
export const INSPECT_FLOWS_DIR = '/var/lib/egresskit-flows';
export const INSPECT_FLOWS_DB = `${INSPECT_FLOWS_DIR}/flows.db`;

/** What `k8s ca-configmap` names its ConfigMap unless told otherwise. */
export const DEFAULT_CA_CONFIGMAP = 'egresskit-ca-bundle';

export const ADMIN_PORT_NAME = 'admin';
export const METRICS_SERVICE_PORT_NAME = 'metrics';
export const UI_PORT_NAME = 'ui';

/** A numeric uid/gid (not a name) so runAsNonRoot can be verified by the kubelet. */
export const RUN_AS_USER = 10001;

export function resourceName(mode: string): string {
  return `${APP_NAME}-${mode}`;
}

/** The selector labels: stable for the life of a Deployment (a selector cannot be changed). */
export function selectorLabels(mode: string): Record<string, string> {
  return { 'app.kubernetes.io/name': APP_NAME, 'app.kubernetes.io/component': mode };
}

export function commonLabels(mode: string): Record<string, string> {
  return { ...selectorLabels(mode), 'app.kubernetes.io/part-of': APP_NAME };
}
