/**
 * How each runtime picks a proxy from the environment, one row per documented rule. The rows
 * are data so that a table-driven test can pin each one to the behaviour its documentation
 * names; the evaluator (env-proxy.ts) only interprets them.
 */

export type RuntimeId = 'curl' | 'go' | 'python-urllib' | 'python-requests' | 'node-http' | 'node-fetch' | 'java';
export type RuntimeFamily = 'curl' | 'go' | 'python' | 'node' | 'java';
export const RUNTIME_FAMILIES: readonly RuntimeFamily[] = ['curl', 'go', 'python', 'node', 'java'];

export const RUNTIMES: Record<RuntimeId, { family: RuntimeFamily; label: string }> = {
  curl: { family: 'curl', label: 'curl' },
  go: { family: 'go', label: 'Go net/http' },
  'python-urllib': { family: 'python', label: 'Python urllib' },
  'python-requests': { family: 'python', label: 'Python requests' },
  'node-http': { family: 'node', label: 'Node http/https' },
  'node-fetch': { family: 'node', label: 'Node fetch (undici)' },
  java: { family: 'java', label: 'Java' },
};

/** How a NO_PROXY domain entry matches: the name and its subdomains, the name only, subdomains only, any string suffix, or never. */
export type DomainMatch = 'domain-and-subdomains' | 'exact' | 'subdomains-only' | 'string-suffix' | 'never';

export type RuntimeRule =
  /** Variables read for a scheme's proxy, first set one wins. */
  | { runtime: RuntimeId; kind: 'proxy-vars'; scheme: 'http' | 'https'; vars: readonly string[] }
  | { runtime: RuntimeId; kind: 'no-proxy-vars'; vars: readonly string[] }
  /** `example.com`, `.example.com`, `*.example.com` in NO_PROXY. */
  | { runtime: RuntimeId; kind: 'no-proxy-domain'; entry: 'bare' | 'dot' | 'star-dot'; match: DomainMatch }
  /** CIDR entries: honoured, ignored, or honoured only when the URL's host is an IPv4 literal. */
  | { runtime: RuntimeId; kind: 'no-proxy-cidr'; support: 'yes' | 'no' | 'ipv4-literal' }
  /** Hosts never sent to a proxy whatever the variables say. */
  | { runtime: RuntimeId; kind: 'always-direct'; hosts: 'localhost-and-loopback' }
  /** A CGI program (REQUEST_METHOD set) ignores HTTP_PROXY, which a client could set as a header ("httpoxy"). */
  | { runtime: RuntimeId; kind: 'cgi-ignores'; vars: readonly string[] }
  /** The environment is read only when this switch is on. */
  | { runtime: RuntimeId; kind: 'opt-in'; env: string; value: string; nodeOption: string }
  /** The environment is not read at all; proxies come from system properties. */
  | { runtime: RuntimeId; kind: 'system-properties'; optionVars: readonly string[] };

export const RUNTIME_RULES: readonly RuntimeRule[] = [
  // curl: everything.curl.dev "Proxy environment variables" and libcurl-env(3): http_proxy only in lowercase.
  { runtime: 'curl', kind: 'proxy-vars', scheme: 'http', vars: ['http_proxy', 'all_proxy', 'ALL_PROXY'] },
  // curl: libcurl-env(3): [scheme]_proxy in either case (lowercase first), then ALL_PROXY.
  { runtime: 'curl', kind: 'proxy-vars', scheme: 'https', vars: ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'] },
  // curl: libcurl-env(3): no_proxy, then NO_PROXY.
  { runtime: 'curl', kind: 'no-proxy-vars', vars: ['no_proxy', 'NO_PROXY'] },
  // curl: CURLOPT_NOPROXY(3): a name matches itself and the domain it heads.
  { runtime: 'curl', kind: 'no-proxy-domain', entry: 'bare', match: 'domain-and-subdomains' },
  // curl: everything.curl.dev: a leading dot names the entire domain.
  { runtime: 'curl', kind: 'no-proxy-domain', entry: 'dot', match: 'domain-and-subdomains' },
  // curl: CURLOPT_NOPROXY(3): "the only wildcard is a single *", so *.x is no pattern.
  { runtime: 'curl', kind: 'no-proxy-domain', entry: 'star-dot', match: 'never' },
  // curl: CURLOPT_NOPROXY(3): CIDR notation since 7.86.0.
  { runtime: 'curl', kind: 'no-proxy-cidr', support: 'yes' },

  // Go: golang.org/x/net/http/httpproxy FromEnvironment: uppercase first; https uses HTTPS_PROXY only.
  { runtime: 'go', kind: 'proxy-vars', scheme: 'http', vars: ['HTTP_PROXY', 'http_proxy'] },
  { runtime: 'go', kind: 'proxy-vars', scheme: 'https', vars: ['HTTPS_PROXY', 'https_proxy'] },
  { runtime: 'go', kind: 'no-proxy-vars', vars: ['NO_PROXY', 'no_proxy'] },
  // Go: httpproxy.Config: "foo.com" matches foo.com and bar.foo.com; ".y.com" subdomains only.
  { runtime: 'go', kind: 'no-proxy-domain', entry: 'bare', match: 'domain-and-subdomains' },
  { runtime: 'go', kind: 'no-proxy-domain', entry: 'dot', match: 'subdomains-only' },
  { runtime: 'go', kind: 'no-proxy-domain', entry: 'star-dot', match: 'subdomains-only' },
  // Go: httpproxy.Config: IP addresses and CIDR prefixes are matched.
  { runtime: 'go', kind: 'no-proxy-cidr', support: 'yes' },
  // Go: httpproxy.Config: requests to localhost and loopback addresses are never proxied.
  { runtime: 'go', kind: 'always-direct', hosts: 'localhost-and-loopback' },
  // Go: httpproxy.FromEnvironment: HTTP_PROXY is ignored in a CGI environment (REQUEST_METHOD set).
  { runtime: 'go', kind: 'cgi-ignores', vars: ['HTTP_PROXY'] },

  // Python: urllib.request.getproxies_environment: lowercase wins; all_proxy is not used by urllib's ProxyHandler.
  { runtime: 'python-urllib', kind: 'proxy-vars', scheme: 'http', vars: ['http_proxy', 'HTTP_PROXY'] },
  { runtime: 'python-urllib', kind: 'proxy-vars', scheme: 'https', vars: ['https_proxy', 'HTTPS_PROXY'] },
  { runtime: 'python-urllib', kind: 'no-proxy-vars', vars: ['no_proxy', 'NO_PROXY'] },
  // Python: urllib.request.proxy_bypass_environment: leading dots are ignored; a name matches its subdomains.
  { runtime: 'python-urllib', kind: 'no-proxy-domain', entry: 'bare', match: 'domain-and-subdomains' },
  { runtime: 'python-urllib', kind: 'no-proxy-domain', entry: 'dot', match: 'domain-and-subdomains' },
  { runtime: 'python-urllib', kind: 'no-proxy-domain', entry: 'star-dot', match: 'never' },
  // Python: urllib compares names only: no CIDR.
  { runtime: 'python-urllib', kind: 'no-proxy-cidr', support: 'no' },
  // Python: urllib.request.getproxies_environment: HTTP_PROXY is dropped when REQUEST_METHOD is set (CVE-2016-1000110).
  { runtime: 'python-urllib', kind: 'cgi-ignores', vars: ['HTTP_PROXY'] },

  // Python: requests.utils.select_proxy: the scheme's proxy, then all_proxy; lowercase wins (urllib's getproxies).
  { runtime: 'python-requests', kind: 'proxy-vars', scheme: 'http', vars: ['http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'] },
  { runtime: 'python-requests', kind: 'proxy-vars', scheme: 'https', vars: ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'] },
  { runtime: 'python-requests', kind: 'no-proxy-vars', vars: ['no_proxy', 'NO_PROXY'] },
  // Python: requests.utils.should_bypass_proxies: hostname.endswith(entry), then urllib's rule.
  { runtime: 'python-requests', kind: 'no-proxy-domain', entry: 'bare', match: 'string-suffix' },
  { runtime: 'python-requests', kind: 'no-proxy-domain', entry: 'dot', match: 'domain-and-subdomains' },
  { runtime: 'python-requests', kind: 'no-proxy-domain', entry: 'star-dot', match: 'never' },
  // Python: requests.utils.should_bypass_proxies: CIDR only when the URL's host is an IPv4 literal.
  { runtime: 'python-requests', kind: 'no-proxy-cidr', support: 'ipv4-literal' },
  { runtime: 'python-requests', kind: 'cgi-ignores', vars: ['HTTP_PROXY'] },

  // Node: nodejs.org/api/cli "NODE_USE_ENV_PROXY=1" / --use-env-proxy: without it no variable is read.
  { runtime: 'node-http', kind: 'opt-in', env: 'NODE_USE_ENV_PROXY', value: '1', nodeOption: '--use-env-proxy' },
  // Node: nodejs.org/api/http "Built-in Proxy Support": lowercase takes precedence; https uses https_proxy only.
  { runtime: 'node-http', kind: 'proxy-vars', scheme: 'http', vars: ['http_proxy', 'HTTP_PROXY'] },
  { runtime: 'node-http', kind: 'proxy-vars', scheme: 'https', vars: ['https_proxy', 'HTTPS_PROXY'] },
  { runtime: 'node-http', kind: 'no-proxy-vars', vars: ['no_proxy', 'NO_PROXY'] },
  // Node: nodejs.org/api/http "NO_PROXY Format": example.com exact, .example.com suffix, *.example.com wildcard, IP ranges a-b.
  { runtime: 'node-http', kind: 'no-proxy-domain', entry: 'bare', match: 'exact' },
  { runtime: 'node-http', kind: 'no-proxy-domain', entry: 'dot', match: 'subdomains-only' },
  { runtime: 'node-http', kind: 'no-proxy-domain', entry: 'star-dot', match: 'subdomains-only' },
  { runtime: 'node-http', kind: 'no-proxy-cidr', support: 'no' },

  { runtime: 'node-fetch', kind: 'opt-in', env: 'NODE_USE_ENV_PROXY', value: '1', nodeOption: '--use-env-proxy' },
  // undici EnvHttpProxyAgent docs: lowercase first; with only http_proxy set it serves https too.
  { runtime: 'node-fetch', kind: 'proxy-vars', scheme: 'http', vars: ['http_proxy', 'HTTP_PROXY'] },
  { runtime: 'node-fetch', kind: 'proxy-vars', scheme: 'https', vars: ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'] },
  { runtime: 'node-fetch', kind: 'no-proxy-vars', vars: ['no_proxy', 'NO_PROXY'] },
  // undici EnvHttpProxyAgent docs: leading * and . are dropped; an entry matches its domain and subdomains.
  { runtime: 'node-fetch', kind: 'no-proxy-domain', entry: 'bare', match: 'domain-and-subdomains' },
  { runtime: 'node-fetch', kind: 'no-proxy-domain', entry: 'dot', match: 'domain-and-subdomains' },
  { runtime: 'node-fetch', kind: 'no-proxy-domain', entry: 'star-dot', match: 'domain-and-subdomains' },
  { runtime: 'node-fetch', kind: 'no-proxy-cidr', support: 'no' },

  // Java: docs.oracle.com "Networking Properties": proxies come from https.proxyHost/http.proxyHost and
  // http.nonProxyHosts, given on the command line or in JAVA_TOOL_OPTIONS / JDK_JAVA_OPTIONS.
  { runtime: 'java', kind: 'system-properties', optionVars: ['JAVA_TOOL_OPTIONS', 'JDK_JAVA_OPTIONS'] },
];

export function rulesOf(runtime: RuntimeId): RuntimeRule[] {
  return RUNTIME_RULES.filter((r) => r.runtime === runtime);
}
