/**
 * The one table that turns any failure into what the client sees: an HTTP status, an RFC 9209
 * Proxy-Status error type, and a one-line message with a hint. Every failure in the pipeline is
 * a ProxyError carrying one of these codes, so all modes answer the same way.
 */

import { GUARD_ERRORS, type GuardErrorCode } from './error-table-guards.js';

export type ErrorCode =
  | GuardErrorCode
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
  | 'client_gone'
  | 'client_reset'
  | 'client_slow'
  | 'idle_timeout'
  | 'tls_handshake'
  | 'client_tls'
  | 'leaf_failed'
  | 'internal';

export interface ErrorSpec {
  /** The status of the error response; for outcomes that are never answered, the nearest one (nginx's 499 for a client that left). */
  status: number;
  /** RFC 9209 section 2.3 error type. */
  proxyStatus: string;
  message: string;
  hint: string;
  /**
   * True for outcomes noted on a record after the client was answered, or where no HTTP answer
   * is possible (the client left, a tunnel idled out, a TLS handshake failed): never a response.
   */
  outcomeOnly?: true;
}

export const ERROR_TABLE: Record<ErrorCode, ErrorSpec> = {
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
  client_gone: {
    status: 499,
    proxyStatus: 'connection_terminated',
    message: 'the client closed the connection',
    hint: 'the client gave up before the exchange was complete (its own timeout, a cancelled request)',
    outcomeOnly: true,
  },
  client_reset: {
    status: 499,
    proxyStatus: 'connection_terminated',
    message: 'the client connection failed',
    hint: 'the client reset the connection or its network dropped it',
    outcomeOnly: true,
  },
  client_slow: {
    status: 499,
    proxyStatus: 'connection_terminated',
    message: 'the client read the response too slowly',
    hint: 'a response without a length (ended by closing the connection) cannot be paused for a slow client; egresskit buffers 16 MiB of it, then gives up',
    outcomeOnly: true,
  },
  idle_timeout: {
    status: 504,
    proxyStatus: 'connection_timeout',
    message: 'the connection was idle too long',
    hint: 'neither side sent anything within timeouts.idle; raise it for long-lived quiet connections',
    outcomeOnly: true,
  },
  tls_handshake: {
    status: 400,
    proxyStatus: 'tls_certificate_error',
    message: 'client TLS handshake refused',
    hint: 'the client needs a certificate signed by the proxy\'s --client-ca, sent with --proxy-cert/--proxy-key',
    outcomeOnly: true,
  },
  client_tls: {
    status: 400,
    proxyStatus: 'tls_protocol_error',
    message: 'the client ended the intercepted TLS handshake',
    hint: 'give the client the interception CA (curl --cacert, NODE_EXTRA_CA_CERTS, SSL_CERT_FILE), or pass the host through with --passthrough',
    outcomeOnly: true,
  },
  ...GUARD_ERRORS,
  leaf_failed: {
    status: 500,
    proxyStatus: 'proxy_internal_error',
    message: 'could not mint a certificate for the destination',
    hint: 'check the interception CA in --ca-dir (egresskit certs show)',
    outcomeOnly: true,
  },
  internal: {
    status: 500,
    proxyStatus: 'proxy_internal_error',
    message: 'internal proxy error',
    hint: 'this is a bug in egresskit; please report it with the log line',
  },
};

/** Every code, for metric label sets and tests that must enumerate them. */
export const ERROR_CODES = Object.keys(ERROR_TABLE) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_TABLE, value);
}
