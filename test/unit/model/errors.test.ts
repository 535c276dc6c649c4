import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorBody, errorSpec, ProxyError, proxyStatusHeader, toProxyError, type ErrorCode } from '../../../src/model/errors.js';

/**
 * The expected status of every code. `satisfies Record<ErrorCode, ...>` makes this fail to
 * compile when a code is added to the table without a row here.
 */
const STATUS = {
  policy_denied: 403,
  address_denied: 403,
  port_denied: 403,
  loop_denied: 403,
  auth_required: 407,
  auth_invalid: 407,
  dns_not_found: 502,
  dns_timeout: 504,
  dns_failed: 502,
  connect_refused: 502,
  connect_unreachable: 502,
  connect_timeout: 504,
  connect_reset: 502,
  upstream_failed: 502,
  upstream_timeout: 504,
  upstream_tls: 502,
  misdirected: 421,
  parent_proxy_refused: 502,
  parent_proxy_auth: 502,
  too_many_connections: 429,
  bad_request: 400,
  bad_target: 400,
  bad_framing: 400,
  headers_too_large: 431,
  request_timeout: 408,
  not_a_proxy_request: 400,
  not_tls: 400,
  draining: 503,
  client_gone: 499,
  client_reset: 499,
  client_slow: 499,
  idle_timeout: 504,
  tls_handshake: 400,
  client_tls: 400,
  sni_mismatch: 421,
  leaf_failed: 500,
  internal: 500,
  too_many_tunnels: 429,
  rate_limited: 429,
  tunnel_max_age: 429,
  tls_required: 403,
} as const satisfies Record<ErrorCode, number>;

const ALL_CODES = Object.keys(STATUS) as ErrorCode[];

/** RFC 9209 section 2.3 proxy error types. */
const RFC9209_TYPES = new Set([
  'dns_timeout',
  'dns_failed',
  'dns_error',
  'destination_not_found',
  'destination_unavailable',
  'destination_ip_prohibited',
  'destination_ip_unroutable',
  'connection_refused',
  'connection_terminated',
  'connection_timeout',
  'connection_read_timeout',
  'connection_write_timeout',
  'connection_limit_reached',
  'tls_protocol_error',
  'tls_certificate_error',
  'tls_alert_received',
  'http_request_error',
  'http_request_denied',
  'http_response_incomplete',
  'http_response_header_section_size',
  'http_response_header_size',
  'http_response_body_size',
  'http_response_trailer_section_size',
  'http_response_trailer_size',
  'http_response_transfer_coding',
  'http_response_content_coding',
  'http_response_timeout',
  'http_upgrade_failed',
  'http_protocol_error',
  'proxy_internal_response',
  'proxy_internal_error',
  'proxy_configuration_error',
  'proxy_loop_detected',
]);

describe('the error table', () => {
  for (const code of ALL_CODES) {
    test(`${code}: status, Proxy-Status type, message and hint`, () => {
      const spec = errorSpec(code);
      assert.equal(spec.status, STATUS[code]);
      assert.ok(RFC9209_TYPES.has(spec.proxyStatus), `${spec.proxyStatus} is not an RFC 9209 error type`);
      assert.ok(spec.message.trim().length > 0, 'message');
      assert.ok(spec.hint.trim().length > 0, 'hint');
      assert.ok(!spec.message.includes('\n') && !spec.hint.includes('\n'), 'one line each');
      const err = new ProxyError(code);
      assert.equal(err.code, code);
      assert.equal(err.name, 'ProxyError');
      assert.equal(err.message, spec.message);
      assert.equal(err.hint, spec.hint);
      assert.equal(err.detail, undefined);
      assert.deepEqual(err.spec, spec);
      assert.ok(err instanceof Error);
    });
  }

  test('policy denial is 403, never 407', () => {
    for (const code of ['policy_denied', 'address_denied', 'port_denied', 'loop_denied'] as const) assert.equal(errorSpec(code).status, 403);
  });

  test('detail and a specific hint', () => {
    const cause = new Error('root');
    const err = new ProxyError('address_denied', '10.0.0.1, a private address', { hint: 'allow it with --allow 10.0.0.1/32', cause });
    assert.equal(err.message, 'destination address refused: 10.0.0.1, a private address');
    assert.equal(err.detail, '10.0.0.1, a private address');
    assert.equal(err.hint, 'allow it with --allow 10.0.0.1/32');
    assert.equal(err.cause, cause);
  });

  test('an undefined hint option falls back to the table', () => {
    assert.equal(new ProxyError('port_denied', 'x', { hint: undefined }).hint, errorSpec('port_denied').hint);
  });
});

function errno(code: unknown, cause?: unknown): Error {
  return Object.assign(new Error(`some message mentioning ${String(code)}`), { code }, cause === undefined ? {} : { cause });
}

describe('toProxyError', () => {
  const cases: Array<[errnoCode: string, expected: ErrorCode]> = [
    ['ENOTFOUND', 'dns_not_found'],
    ['EAI_NONAME', 'dns_not_found'],
    ['EAI_NODATA', 'dns_not_found'],
    ['EAI_AGAIN', 'dns_failed'],
    ['EAI_FAIL', 'dns_failed'],
    ['ECONNREFUSED', 'connect_refused'],
    ['EHOSTUNREACH', 'connect_unreachable'],
    ['ENETUNREACH', 'connect_unreachable'],
    ['EADDRNOTAVAIL', 'connect_unreachable'],
    ['ETIMEDOUT', 'connect_timeout'],
    ['ECONNRESET', 'connect_reset'],
    ['EPIPE', 'connect_reset'],
    ['ECONNABORTED', 'connect_reset'],
    ['UND_ERR_CONNECT_TIMEOUT', 'connect_timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'upstream_timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'upstream_timeout'],
    ['UND_ERR_SOCKET', 'connect_reset'],
    ['HPE_INVALID_CONSTANT', 'upstream_failed'],
    ['HPE_INVALID_VERSION', 'upstream_failed'],
    ['HPE_INVALID_STATUS', 'upstream_failed'],
    ['EWHATEVER', 'internal'],
  ];
  for (const [code, expected] of cases) {
    test(`${code} -> ${expected}`, () => {
      const source = errno(code);
      const err = toProxyError(source);
      assert.equal(err.code, expected);
      assert.equal(err.cause, source);
      if (expected !== 'internal') assert.equal(err.detail, code);
    });
  }

  test('where (the address) goes into the detail, also through causes', () => {
    const direct = toProxyError(errno('ECONNREFUSED'), '93.184.216.34:443');
    assert.equal(direct.code, 'connect_refused');
    assert.equal(direct.detail, '93.184.216.34:443 (ECONNREFUSED)');
    const nested = toProxyError(new TypeError('fetch failed', { cause: errno('UND_ERR_CONNECT_TIMEOUT') }), '[2001:db8::1]:443');
    assert.equal(nested.code, 'connect_timeout');
    assert.equal(nested.detail, '[2001:db8::1]:443 (UND_ERR_CONNECT_TIMEOUT)');
    assert.equal(toProxyError(new Error('plain'), '1.2.3.4:80').detail, undefined);
  });

  test('maps by code, never by message text', () => {
    assert.equal(toProxyError(new Error('getaddrinfo ENOTFOUND example.com')).code, 'internal');
    assert.equal(toProxyError(new Error('connect ECONNREFUSED 127.0.0.1:1')).code, 'internal');
  });

  test('a ProxyError passes through unchanged', () => {
    const err = new ProxyError('port_denied', 'port 22');
    assert.equal(toProxyError(err), err);
  });

  test('nested causes (undici "fetch failed" wraps the socket error)', () => {
    const fetchFailed = new TypeError('fetch failed', { cause: errno('ECONNREFUSED') });
    assert.equal(toProxyError(fetchFailed).code, 'connect_refused');
    const deep = new Error('outer', { cause: new Error('middle', { cause: errno('ENOTFOUND') }) });
    assert.equal(toProxyError(deep).code, 'dns_not_found');
    const wrappedProxyError = new Error('outer', { cause: new ProxyError('dns_timeout', 'x') });
    assert.equal(toProxyError(wrappedProxyError).code, 'dns_timeout');
  });

  test('an own code wins over the cause', () => {
    assert.equal(toProxyError(errno('ETIMEDOUT', errno('ECONNRESET'))).code, 'connect_timeout');
  });

  test('an unknown own code still looks at the cause', () => {
    assert.equal(toProxyError(errno('UND_ERR_UNKNOWN', errno('ECONNRESET'))).code, 'connect_reset');
  });

  const internal: Array<[name: string, value: unknown]> = [
    ['null', null],
    ['undefined', undefined],
    ['a string', 'boom'],
    ['a number', 42],
    ['a numeric code', { code: 123 }],
    ['a plain Error', new Error('boom')],
    ['a cause of the wrong kind', new Error('x', { cause: 'text' })],
  ];
  for (const [name, value] of internal) {
    test(`${name} -> internal`, () => {
      const err = toProxyError(value);
      assert.equal(err.code, 'internal');
      assert.equal(err.cause, value);
    });
  }

  test('an error that is its own cause does not loop', () => {
    const self = new Error('self') as Error & { cause?: unknown };
    self.cause = self;
    assert.equal(toProxyError(self).code, 'internal');
  });

  test('a cycle of causes does not overflow the stack', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    assert.equal(toProxyError(a).code, 'internal');
  });
});

describe('proxyStatusHeader', () => {
  const cases: Array<[name: string, err: ProxyError, expected: string]> = [
    ['no detail', new ProxyError('internal'), 'egresskit; error=proxy_internal_error'],
    ['plain detail', new ProxyError('dns_not_found', 'nope.example'), 'egresskit; error=dns_error; details="nope.example"'],
    ['quotes are escaped', new ProxyError('policy_denied', 'rule "x"'), 'egresskit; error=http_request_denied; details="rule \\"x\\""'],
    ['backslashes are escaped', new ProxyError('bad_target', 'a\\b'), 'egresskit; error=http_request_error; details="a\\\\b"'],
    ['non-ASCII is replaced', new ProxyError('bad_target', 'bücher.de ☃'), 'egresskit; error=http_request_error; details="b?cher.de ?"'],
    ['control characters are replaced', new ProxyError('bad_target', 'a\r\nb\tc\x00'), 'egresskit; error=http_request_error; details="a??b?c?"'],
    ['address denial', new ProxyError('address_denied', '10.0.0.1'), 'egresskit; error=destination_ip_prohibited; details="10.0.0.1"'],
  ];
  for (const [name, err, expected] of cases) {
    test(name, () => {
      const value = proxyStatusHeader(err);
      assert.equal(value, expected);
      assert.match(value, /^[\x20-\x7e]*$/, 'a header value must be printable ASCII');
    });
  }
});

describe('errorBody', () => {
  test('message and hint', () => {
    assert.equal(
      errorBody(new ProxyError('port_denied', 'port 22 is not allowed')),
      `egresskit: destination port refused: port 22 is not allowed\nhint: ${errorSpec('port_denied').hint}\n`,
    );
  });

  test('a specific hint replaces the table hint', () => {
    assert.equal(
      errorBody(new ProxyError('address_denied', '10.0.0.1', { hint: 'allow it with --allow 10.0.0.1/32' })),
      'egresskit: destination address refused: 10.0.0.1\nhint: allow it with --allow 10.0.0.1/32\n',
    );
  });

  for (const code of ALL_CODES) {
    test(`${code} has a message line and a hint line`, () => {
      const lines = errorBody(new ProxyError(code)).split('\n');
      assert.equal(lines.length, 3);
      assert.equal(lines[0], `egresskit: ${errorSpec(code).message}`);
      assert.equal(lines[1], `hint: ${errorSpec(code).hint}`);
      assert.equal(lines[2], '');
    });
  }
});
