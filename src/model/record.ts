import type { ProxyError } from './errors.js';
import type { ErrorCode } from './error-table.js';
import type { ClientIdentity } from './identity.js';
import type { Decision } from './decision.js';

export type RecordKind = 'connect' | 'http' | 'upgrade' | 'client_error' | 'tls_error';

/**
 * One canonical record per tunnel, per forwarded request and per refused connection. It is the
 * only thing observers see: the log line, the metrics and (later) the flow store all read it.
 */
export interface ProxyRecord {
  instance: string;
  kind: RecordKind;
  start: number;
  client: string;
  identity: ClientIdentity | undefined;
  method: string | undefined;
  /** host:port as requested (after normalisation). */
  target: string | undefined;
  /** For absolute-URI requests: scheme, host and path without the query (which may hold secrets). */
  url: string | undefined;
  /** ip:port actually dialed, or the parent proxy. */
  resolved: string | undefined;
  via: 'direct' | 'parent' | undefined;
  /** Inspect mode's tunnels: true once handed to interception, false when passed through untouched. */
  intercepted?: boolean;
  decision: Decision | undefined;
  /** The policy and users version this was decided under (a short hash of their sources; see control/config-version.ts). */
  configVersion: string | undefined;
  status: number | undefined;
  bytesUp: number;
  bytesDown: number;
  durationMs: number | undefined;
  /** Milliseconds each phase took; a phase that did not happen (a reused connection, a parent proxy's own lookup) is absent. */
  phases: PhaseTimings;
  /**
   * Tunnels the SNI check read (forward, mtls, passthrough; never decrypted): a ClientHello
   * with a server name (true), one without ('no-sni'), or not TLS (false). true with no `sni`
   * means the ClientHello could not be read within the check's bounds. Undefined: not read.
   */
  tls: boolean | 'no-sni' | undefined;
  /** The TLS server name the client sent, as sent. */
  sni: string | undefined;
  /** The server name differs from the CONNECT host: refused (error sni_mismatch) or, in report mode, only noted. */
  sniMismatch: boolean | undefined;
  /** How the exchange failed, from the one error table; undefined when it did not. */
  error: ErrorCode | undefined;
  errorDetail: string | undefined;
  /** With --workers N above 1: which worker (1..N) served it; absent in a single process. */
  worker?: number;
}

export interface PhaseTimings {
  /** Resolving the destination's name. */
  dnsMs?: number;
  /** The TCP connection to the destination (or the CONNECT through the parent proxy). */
  connectMs?: number;
  /** The TLS handshake with the destination (interception). */
  tlsMs?: number;
  /** From the record's start to the destination's first response byte. */
  ttfbMs?: number;
}

export type Phase = 'dns' | 'connect' | 'tls' | 'ttfb';

export function newRecord(instance: string, kind: RecordKind, client: string): ProxyRecord {
  return {
    instance,
    kind,
    start: performance.now(),
    client,
    identity: undefined,
    method: undefined,
    target: undefined,
    url: undefined,
    resolved: undefined,
    via: undefined,
    decision: undefined,
    configVersion: undefined,
    status: undefined,
    bytesUp: 0,
    bytesDown: 0,
    durationMs: undefined,
    phases: {},
    tls: undefined,
    sni: undefined,
    sniMismatch: undefined,
    error: undefined,
    errorDetail: undefined,
  };
}

/** The error that ended an exchange, as the log line and metrics read it (and the flow, in inspect mode). */
export function markFailed(record: ProxyRecord, err: ProxyError, capture?: { fail(code: ErrorCode, message: string): void }): ProxyError {
  record.status = err.spec.status;
  record.error = err.code;
  record.errorDetail = err.detail;
  capture?.fail(err.code, err.message);
  return err;
}
