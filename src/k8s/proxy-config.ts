import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { ConfigError, deepMerge, parseConfig } from '../config/load.js';
import { parseHostPort } from '../config/host-port.js';
import { DEFAULT_LISTEN, type Config } from '../config/schema.js';
import { formatDuration } from './durations.js';
import { K8sError } from './errors.js';
import type { RenderMode } from './modes.js';
import { INSPECT_CA_CERT, INSPECT_CA_DIR, INSPECT_CA_KEY, INSPECT_FLOWS_DB, INSPECT_STATE_DIR, TLS_DIR } from './names.js';

export interface ProxyConfig {
  config: Config;
  /** The config file as it goes into the ConfigMap; `egresskit config check` accepts it. */
  yaml: string;
  sha256: string;
  proxyPort: number;
  adminPort: number;
  /** inspect: the UI port (inspect.ui); undefined with ui: off and in the other modes. */
  uiPort?: number;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A listen address a Service can reach: all interfaces, a real port. */
function podPort(text: string, field: string, source: string, defaultPort: number): number {
  const hp = parseHostPort(text);
  if (!hp || !WILDCARDS.has(hp.host) || hp.port === 0) {
    throw new K8sError(
      `${source}: ${field} is '${text}', which a Service cannot reach: in a Pod listen on all interfaces with a fixed port, e.g. ${field}: 0.0.0.0:${defaultPort}`,
    );
  }
  return hp.port;
}

/**
 * The egresskit config for a Pod: the user's file (if any) with what the manifests rely on laid
 * over it (mode, addresses, the mounted TLS directory), validated by the same parseConfig the
 * proxy runs, so a rendered ConfigMap never fails at startup.
 */
export function buildProxyConfig(
  mode: RenderMode,
  raw: unknown = {},
  source = 'the config file',
  volumes: { flowsDb?: boolean; uiIngress?: { host: string; path: string } } = {},
): ProxyConfig {
  if (raw === null || raw === undefined) raw = {};
  if (!isMapping(raw)) throw new K8sError(`${source}: the config file must be a YAML mapping (key: value)`);
  if (raw.mode !== undefined && raw.mode !== mode) {
    throw new K8sError(`${source} says mode: ${String(raw.mode)}, but you are rendering ${mode}: render ${String(raw.mode)}, or change mode in the file`);
  }
  const tls = isMapping(raw.tls) ? raw.tls : {};
  if (mode === 'mtls') {
    // The mtls manifests mount neither an interception CA nor a writable caDir, nor expose a UI:
    // the Pod would fail at startup, so the file is refused here instead.
    if (raw.inspect !== undefined) {
      throw new K8sError(
        `${source}: an inspect section turns mtls into mtls with interception, which the rendered manifests do not support yet (no CA Secret, no UI port): remove inspect, or render inspect`,
      );
    }
    const paths = ['cert', 'key', 'clientCa'].filter((k) => tls[k] !== undefined);
    if (paths.length > 0) {
      throw new K8sError(
        `${source}: tls.${paths.join(', tls.')} point at files that do not exist in the Pod; the manifests mount the Secret (tls.crt, tls.key, ca.crt) at ${TLS_DIR}: remove ${paths.map((p) => `tls.${p}`).join(', ')}`,
      );
    }
  }
  if (mode === 'inspect') {
    const inspect = isMapping(raw.inspect) ? raw.inspect : {};
    const paths = ['caCert', 'caKey', 'caDir'].filter((k) => inspect[k] !== undefined);
    if (paths.length > 0) {
      throw new K8sError(
        `${source}: inspect.${paths.join(', inspect.')} would point at paths the manifests decide: the Pod mounts the CA Secret (ca.crt, ca.key) at ${INSPECT_CA_DIR} and an emptyDir at ${INSPECT_STATE_DIR} for the UI token: remove ${paths.map((p) => `inspect.${p}`).join(', ')}`,
      );
    }
    if (inspect.flowsDb !== undefined) {
      throw new K8sError(
        `${source}: inspect.flowsDb would point at a path that does not exist in the Pod (its root filesystem is read-only): remove inspect.flowsDb and render with --flows-db-size SIZE (e.g. 1Gi), which adds a PersistentVolumeClaim for it`,
      );
    }
  }
  const overlay: Record<string, unknown> = {
    mode,
    ...(mode === 'mtls' ? { tls: { dir: TLS_DIR } } : {}),
    ...(mode === 'inspect'
      ? { inspect: { caCert: INSPECT_CA_CERT, caKey: INSPECT_CA_KEY, caDir: INSPECT_STATE_DIR, ...(volumes.flowsDb ? { flowsDb: INSPECT_FLOWS_DB } : {}), ...uiIngressOverlay(raw, volumes.uiIngress) } }
      : {}),
  };
  let config: Config;
  try {
    config = parseConfig(deepMerge(raw, overlay), source);
  } catch (err) {
    if (err instanceof ConfigError) throw new K8sError(err.message, { cause: err });
    throw err;
  }
  if (config.admin === 'off') {
    throw new K8sError(`${source}: admin is off, but the Pod's readiness and liveness probes use it: remove admin, or set admin: 0.0.0.0:9090`);
  }
  const proxyPort = podPort(config.listen, 'listen', source, parseHostPort(DEFAULT_LISTEN[mode])!.port);
  const adminPort = podPort(config.admin, 'admin', source, 9090);
  if (proxyPort === adminPort) throw new K8sError(`${source}: listen and admin both use port ${proxyPort}: give them different ports`);
  // The UI binds all interfaces, so egresskit requires its token (written to inspect.caDir); the
  // NetworkPolicy admits only labelled Pods of the namespace, and kubectl port-forward.
  const ui = config.inspect?.ui;
  const uiPort = ui === undefined || ui === 'off' ? undefined : podPort(ui, 'inspect.ui', source, 8081);
  if (uiPort !== undefined && (uiPort === proxyPort || uiPort === adminPort)) {
    throw new K8sError(`${source}: inspect.ui uses port ${uiPort}, which listen or admin already use: give it its own port, e.g. inspect.ui: 0.0.0.0:8081`);
  }
  const yaml = stringify(readable(config), { lineWidth: 0 });
  return { config, yaml, sha256: createHash('sha256').update(yaml).digest('hex'), proxyPort, adminPort, ...(uiPort === undefined ? {} : { uiPort }) };
}

/** The UI behind an Ingress answers under its path and to its host name (the DNS-rebinding guard). */
function uiIngressOverlay(raw: Record<string, unknown>, ingress: { host: string; path: string } | undefined): Record<string, unknown> {
  if (!ingress) return {};
  const inspect = isMapping(raw.inspect) ? raw.inspect : {};
  const hosts = Array.isArray(inspect.uiAllowedHosts) ? (inspect.uiAllowedHosts as unknown[]) : [];
  return { uiBasePath: ingress.path, uiAllowedHosts: [...hosts.filter((h) => h !== ingress.host), ingress.host] };
}

/** The parsed config with durations written the way people write them (30s, not 30000). */
function readable(config: Config): unknown {
  const timeouts = Object.fromEntries(Object.entries(config.timeouts).map(([k, v]) => [k, formatDuration(v)]));
  const tls = config.tls && { ...config.tls, reloadInterval: formatDuration(config.tls.reloadInterval) };
  const sni = { ...config.sni, peekTimeout: formatDuration(config.sni.peekTimeout) };
  const age = config.budgets.maxTunnelAge;
  const budgets = { ...config.budgets, ...(age ? { maxTunnelAge: formatDuration(age) } : {}) };
  const { mode, listen, ...rest } = config;
  // mode and listen first: what a reader looks for.
  return { mode, listen, ...rest, tls, timeouts, sni, budgets };
}
