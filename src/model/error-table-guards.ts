import type { ErrorSpec } from './error-table.js';

/**
 * The codes of the per-identity budgets and of the TLS checks on tunnels (interception's and
 * the forward SNI check), kept beside the main table: error-table.ts spreads them in, so the
 * codes stay one closed union.
 */
export const GUARD_ERRORS = {
  too_many_tunnels: {
    status: 429,
    proxyStatus: 'connection_limit_reached',
    message: 'too many open tunnels for this client',
    hint: 'close idle tunnels (connection pools), or raise budgets.maxTunnels (--max-tunnels-per-identity)',
  },
  rate_limited: {
    status: 429,
    proxyStatus: 'connection_limit_reached',
    message: 'too many new connections per second for this client',
    hint: 'reuse connections or slow down; or raise budgets.rate and budgets.burst (--rate-per-identity, --burst-per-identity)',
  },
  tunnel_max_age: {
    status: 429,
    proxyStatus: 'connection_limit_reached',
    message: 'the tunnel reached its maximum age and was closed',
    hint: 'clients should reconnect (most pools do); raise budgets.maxTunnelAge (--max-tunnel-age) for long-lived streams',
    outcomeOnly: true,
  },
  sni_mismatch: {
    status: 421,
    proxyStatus: 'tls_protocol_error',
    message: 'TLS server name differs from the CONNECT host',
    hint: 'the name inside TLS must be the host the tunnel was opened to; open a tunnel to that host instead',
    outcomeOnly: true,
  },
  tls_required: {
    status: 403,
    proxyStatus: 'http_request_denied',
    message: 'this tunnel must carry TLS',
    hint: 'the client sent something other than a TLS ClientHello to a port where policy requires TLS (sni.requireTls, a rule\'s requireTls)',
    outcomeOnly: true,
  },
} as const satisfies Record<string, ErrorSpec>;

export type GuardErrorCode = keyof typeof GUARD_ERRORS;
