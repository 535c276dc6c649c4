import { ERROR_TABLE as TABLE, type ErrorCode, type ErrorSpec } from './error-table.js';

export { ERROR_CODES, isErrorCode, type ErrorCode, type ErrorSpec } from './error-table.js';

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

/** An error on a socket to the destination (a live tunnel, a relayed body), by errno alone. */
export function socketErrorCode(err: { code?: unknown } | null | undefined): ErrorCode {
  const code = err?.code;
  return (typeof code === 'string' && ERRNO[code]) || 'connect_reset';
}

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
