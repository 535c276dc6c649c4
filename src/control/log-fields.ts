/**
 * Field names of the canonical log line: public, stable, asserted on by tests. Change one and
 * you break every dashboard built on it.
 */
export const F = {
  event: 'event',
  client: 'client',
  identity: 'identity',
  identityKind: 'identity_kind',
  method: 'method',
  target: 'target',
  url: 'url',
  resolved: 'resolved',
  via: 'via',
  decision: 'decision',
  /** The policy and users version that decided (control/config-version.ts); the config_reloaded line names the same id. */
  configVersion: 'config_version',
  rule: 'rule',
  reason: 'reason',
  status: 'status',
  bytesUp: 'bytes_up',
  bytesDown: 'bytes_down',
  durationMs: 'duration_ms',
  dnsMs: 'dns_ms',
  connectMs: 'connect_ms',
  tlsMs: 'tls_ms',
  ttfbMs: 'ttfb_ms',
  tls: 'tls',
  sni: 'sni',
  sniMismatch: 'sni_mismatch',
  error: 'error',
  errorDetail: 'error_detail',
  /** Only with --workers above 1: the worker (1..N) that served it. */
  worker: 'worker',
} as const;
