import { K8sError } from '../errors.js';
import { CONFIG_DIR } from '../names.js';

/**
 * In-cluster names never go through the proxy: Service DNS names (short and qualified), the API
 * server, loopback. Leading dots mean "this domain and below" to curl, Go, Python and undici
 * alike; bare names match exactly (and, for most clients, their subdomains too).
 */
export const DEFAULT_NO_PROXY = [
  'localhost',
  '127.0.0.1',
  '::1',
  '.svc',
  '.svc.cluster.local',
  '.cluster.local',
  'kubernetes.default',
  'kubernetes.default.svc',
] as const;

export const CA_VOLUME = 'egresskit-ca';
export const CA_MOUNT_DIR = `${CONFIG_DIR}/ca`;
export const CA_BUNDLE_KEY = 'ca-bundle.crt';
export const CA_BUNDLE_FILE = `${CA_MOUNT_DIR}/${CA_BUNDLE_KEY}`;

/**
 * The bundle holds the system roots plus the proxy CA, because SSL_CERT_FILE (OpenSSL, Go, Ruby),
 * REQUESTS_CA_BUNDLE (Python requests) and CURL_CA_BUNDLE replace the trust store: pointing them
 * at the proxy CA alone would break every other TLS connection. NODE_EXTRA_CA_CERTS adds to
 * Node's built-in roots, so the same file works there too.
 */
export const CA_ENV = ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'] as const;

export interface InjectOptions {
  /** http://host:port (forward) or https://host:port (mtls). */
  proxy: string;
  /** Added to the defaults; comma-separated entries are split. */
  noProxy?: readonly string[];
  /** A ConfigMap with key ca-bundle.crt (see `egresskit k8s ca-configmap`). */
  caConfigMap?: string;
  /**
   * Also label the Pod template egresskit.io/egress=true: the proxy's NetworkPolicy admits only
   * labelled Pods, and the example workload policy confines them to the proxy and DNS.
   */
  label?: boolean;
}

export function checkProxyUrl(text: string): string {
  const value = text.trim();
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || !/^https?:\/\//i.test(value)) {
    throw new K8sError(`--proxy '${text}' is not a proxy URL: use http://HOST:PORT, e.g. --proxy http://egresskit-forward.egresskit.svc:8888 (https:// for the mtls proxy)`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new K8sError(`--proxy '${text}' has a path, query or fragment, which proxy variables do not take: use just the scheme, host and port, e.g. ${url.protocol}//${url.host}`);
  }
  return value;
}

/** The defaults plus the extras, split on commas, without blanks or repeats (case-insensitive). */
export function noProxyEntries(extras: readonly string[] = []): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const entry of [...DEFAULT_NO_PROXY, ...extras.flatMap((e) => e.split(','))].map((e) => e.trim())) {
    if (entry === '') continue;
    if (/\s/.test(entry)) throw new K8sError(`--no-proxy entry '${entry}' contains a space: separate entries with commas, e.g. --no-proxy .corp.example,10.0.0.0/8`);
    const key = entry.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(entry);
  }
  return out;
}

/** Name/value pairs in the order they are added: upper case first, then the lower-case forms. */
export function proxyEnv(options: InjectOptions): [name: string, value: string][] {
  const proxy = checkProxyUrl(options.proxy);
  const noProxy = noProxyEntries(options.noProxy).join(',');
  const env: [string, string][] = [
    ['HTTP_PROXY', proxy],
    ['HTTPS_PROXY', proxy],
    ['NO_PROXY', noProxy],
    // curl reads only the lower-case http_proxy (CGI's HTTP_PROXY header clash); others prefer lower case too.
    ['http_proxy', proxy],
    ['https_proxy', proxy],
    ['no_proxy', noProxy],
  ];
  if (options.caConfigMap !== undefined) for (const name of CA_ENV) env.push([name, CA_BUNDLE_FILE]);
  return env;
}
