/**
 * The one table that turns any failure into what the client sees: an HTTP status, an RFC 9209
 * Proxy-Status error type, and a one-line message with a hint. Every failure in the pipeline is
 * a ProxyError carrying one of these codes, so all modes answer the same way.
 */

export type ErrorCode =
  | 'policy_denied'
  | 'address_denied'
  | 'port_denied'
  | 'loop_denied'
  | 'auth_required'
  | 'auth_invalid'
  | 'dns_not_found'
  | 'dns_timeout'
  | 'dns_failed'
  | 'connect_refused'
  | 'connect_unreachable'
  | 'connect_timeout'
  | 'connect_reset'
  | 'upstream_failed'
  | 'upstream_timeout'
  | 'upstream_tls'
  | 'misdirected'
  | 'parent_proxy_refused'
  | 'parent_proxy_auth'
  | 'too_many_connections'
  | 'bad_request'
  | 'bad_target'
  | 'bad_framing'
  | 'headers_too_large'
  | 'request_timeout'
  | 'not_a_proxy_request'
  | 'draining'
  | 'not_tls'
  | 'internal';

interface ErrorSpec {
  status: number;
  /** RFC 9209 section 2.3 error type. */
  proxyStatus: string;
  message: string;
  hint: string;
}

const TABLE: Record<ErrorCode, ErrorSpec> = {
  policy_denied: {
    status: 403,
    proxyStatus: 'http_request_denied',
    message: 'destination refused by policy',
    hint: 'add an allow rule for this host (--allow PATTERN) or remove the deny rule that matched',
  },
  address_denied: {
    status: 403,
    proxyStatus: 'destination_ip_prohibited',
    message: 'destination address refused',
    hint: 'allow the address range with --allow CIDR, or all private ranges with --allow-private',
  },
  port_denied: {
    status: 403,
    proxyStatus: 'http_request_denied',
    message: 'destination port refused',
    hint: 'add the port to --connect-ports (policy.connectPorts)',
  },
  loop_denied: {
    status: 403,
    proxyStatus: 'proxy_loop_detected',
    message: 'refusing to proxy to egresskit itself',
    hint: 'the target is one of this proxy\'s own listeners; check the client\'s proxy and target settings',
  },
  auth_required: {
    status: 407,
    proxyStatus: 'http_request_denied',
    message: 'proxy authentication required',
    hint: 'send Basic credentials, e.g. curl -U user:password, or https_proxy=http://user:password@host:port',
  },
  auth_invalid: {
    status: 407,
    proxyStatus: 'http_request_denied',
    message: 'proxy credentials rejected',
    hint: 'check the user name and password against the proxy\'s htpasswd file',
  },
  dns_not_found: {
    status: 502,
    proxyStatus: 'dns_error',
    message: 'destination host name not found',
    hint: 'check the spelling of the host, and that the proxy can resolve it (its DNS, not the client\'s)',
  },
  dns_timeout: {
    status: 504,
    proxyStatus: 'dns_timeout',
    message: 'DNS lookup for the destination timed out',
    hint: 'the proxy\'s resolver did not answer; check its DNS configuration',
  },
  dns_failed: {
    status: 502,
    proxyStatus: 'dns_error',
    message: 'DNS lookup for the destination failed',
    hint: 'the proxy\'s resolver is unreachable or failing; check the proxy\'s DNS (/etc/resolv.conf, cluster DNS)',
  },
  connect_refused: {
    status: 502,
    proxyStatus: 'connection_refused',
    message: 'destination refused the connection',
    hint: 'nothing listens on that host and port; check the port and that the service is up',
  },
  connect_unreachable: {
    status: 502,
    proxyStatus: 'destination_ip_unroutable',
    message: 'destination network unreachable from the proxy',
    hint: 'the proxy has no route to that address; check its network and egress firewall',
  },
  connect_timeout: {
    status: 504,
    proxyStatus: 'connection_timeout',
    message: 'connecting to the destination timed out',
    hint: 'a firewall may drop the traffic silently; raise timeouts.connect if the destination is slow',
  },
  connect_reset: {
    status: 502,
    proxyStatus: 'connection_terminated',
    message: 'destination closed the connection',
    hint: 'the destination reset the connection; retry, or check it with egresskit doctor',
  },
  upstream_failed: {
    status: 502,
    proxyStatus: 'http_response_incomplete',
    message: 'destination sent no valid response',
    hint: 'the destination failed or spoke something other than HTTP',
  },
  upstream_timeout: {
    status: 504,
    proxyStatus: 'http_response_timeout',
    message: 'destination did not answer in time',
    hint: 'raise timeouts.idle if the destination is slow to answer',
  },
  upstream_tls: {
    status: 502,
    proxyStatus: 'tls_certificate_error',
    message: 'destination\'s TLS certificate was not accepted',
    hint: 'if the destination uses a private CA, pass it with --upstream-ca FILE (inspect.upstreamCa); --insecure-upstream skips the check, for debugging only',
  },
  misdirected: {
    status: 421,
    proxyStatus: 'http_request_denied',
    message: 'request is for another host than the tunnel',
    hint: 'the Host header (or TLS server name) must match the CONNECT target; open a tunnel to that host instead',
  },
  parent_proxy_refused: {
    status: 502,
    proxyStatus: 'http_request_error',
    message: 'parent proxy refused the request',
    hint: 'check the parent proxy\'s own policy, or bypass it for this host with upstreamProxy.noProxy',
  },
  parent_proxy_auth: {
    status: 502,
    proxyStatus: 'proxy_configuration_error',
    message: 'parent proxy rejected egresskit\'s credentials',
    hint: 'fix the user:password in --upstream-proxy http://user:password@host:port',
  },
  too_many_connections: {
    status: 429,
    proxyStatus: 'connection_limit_reached',
    message: 'proxy connection limit reached',
    hint: 'retry later, or raise limits.maxConnections',
  },
  bad_request: {
    status: 400,
    proxyStatus: 'http_request_error',
    message: 'malformed request',
    hint: 'the request could not be parsed as HTTP/1.1',
  },
  bad_target: {
    status: 400,
    proxyStatus: 'http_request_error',
    message: 'invalid destination',
    hint: 'use CONNECT host:port or an absolute URI such as http://example.com/',
  },
  bad_framing: {
    status: 400,
    proxyStatus: 'http_request_error',
    message: 'ambiguous message framing refused',
    hint: 'send either Content-Length or Transfer-Encoding: chunked, once (RFC 9112 section 6.3)',
  },
  headers_too_large: {
    status: 431,
    proxyStatus: 'http_request_error',
    message: 'request header section too large',
    hint: 'shrink the headers, or raise limits.maxHeaderBytes',
  },
  request_timeout: {
    status: 408,
    proxyStatus: 'http_request_error',
    message: 'request headers not received in time',
    hint: 'the client was too slow to send its request; raise timeouts.headers if this is expected',
  },
  not_a_proxy_request: {
    status: 400,
    proxyStatus: 'http_request_error',
    message: 'this is an egress proxy, not a web server',
    hint: 'use it as a proxy: https_proxy=http://HOST:PORT curl https://example.com',
  },
  not_tls: {
    status: 400,
    proxyStatus: 'tls_protocol_error',
    message: 'this port speaks TLS',
    hint: 'use an https:// proxy URL',
  },
  draining: {
    status: 503,
    proxyStatus: 'proxy_internal_response',
    message: 'proxy is shutting down',
    hint: 'retry; another replica will take the connection',
  },
  internal: {
    status: 500,
    proxyStatus: 'proxy_internal_error',
    message: 'internal proxy error',
    hint: 'this is a bug in egresskit; please report it with the log line',
  },
};

export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  readonly code: ErrorCode;
  /** Specific detail for this occurrence (which rule, which address); safe to show the client. */
  readonly detail: string | undefined;
  /** A more specific fix than the table's (e.g. the exact --allow flag for this address). */
  readonly hint: string;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; hint?: string | undefined }) {
    super(detail ? `${TABLE[code].message}: ${detail}` : TABLE[code].message, options);
    this.code = code;
    this.detail = detail;
    this.hint = options?.hint ?? TABLE[code].hint;
  }

  get spec(): ErrorSpec {
    return TABLE[this.code];
  }
}

export function errorSpec(code: ErrorCode): ErrorSpec {
  return TABLE[code];
}

/** Socket and resolver errors map by errno, never by message text. */
const ERRNO: Record<string, ErrorCode> = {
  ENOTFOUND: 'dns_not_found',
  EAI_NONAME: 'dns_not_found',
  EAI_NODATA: 'dns_not_found',
  // EAI_AGAIN is "temporary failure": the resolver is unreachable, refused or timed out.
  EAI_AGAIN: 'dns_failed',
  EAI_FAIL: 'dns_failed',
  ECONNREFUSED: 'connect_refused',
  EHOSTUNREACH: 'connect_unreachable',
  ENETUNREACH: 'connect_unreachable',
  EADDRNOTAVAIL: 'connect_unreachable',
  ETIMEDOUT: 'connect_timeout',
  ECONNRESET: 'connect_reset',
  EPIPE: 'connect_reset',
  ECONNABORTED: 'connect_reset',
  UND_ERR_CONNECT_TIMEOUT: 'connect_timeout',
  UND_ERR_HEADERS_TIMEOUT: 'upstream_timeout',
  UND_ERR_BODY_TIMEOUT: 'upstream_timeout',
  UND_ERR_SOCKET: 'connect_reset',
  HPE_INVALID_CONSTANT: 'upstream_failed',
  HPE_INVALID_VERSION: 'upstream_failed',
  HPE_INVALID_STATUS: 'upstream_failed',
};

/** Maps any thrown value to a ProxyError; `where` (an address) goes into the detail. */
export function toProxyError(err: unknown, where?: string, depth = 0): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const mapped = typeof code === 'string' ? ERRNO[code] : undefined;
  if (mapped) return new ProxyError(mapped, where ? `${where} (${code as string})` : (code as string), { cause: err });
  const cause = (err as { cause?: unknown } | null)?.cause;
  // Causes can form cycles; a few levels are all any real error chain has.
  if (cause && cause !== err && depth < 8) {
    const inner = toProxyError(cause, where, depth + 1);
    if (inner.code !== 'internal') return inner;
  }
  return new ProxyError('internal', undefined, { cause: err });
}

/** RFC 8941 sf-string: only printable ASCII, with \ and " escaped. */
function sfString(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function proxyStatusHeader(err: ProxyError): string {
  let value = `egresskit; error=${err.spec.proxyStatus}`;
  if (err.detail) value += `; details=${sfString(err.detail)}`;
  return value;
}

/** Text body for an error response: what failed, why, and what to do about it. */
export function errorBody(err: ProxyError): string {
  return `egresskit: ${err.message}\nhint: ${err.hint}\n`;
}
