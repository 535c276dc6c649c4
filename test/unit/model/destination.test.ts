import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatHostPort, parseAbsoluteUri, parseAuthority, type Destination } from '../../../src/model/destination.js';
import { ProxyError } from '../../../src/model/errors.js';

function assertBadTarget(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProxyError, `expected a ProxyError, got ${String(err)}`);
    assert.equal(err.code, 'bad_target');
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('parseAuthority', () => {
  const ok: Array<[input: string, expected: Destination]> = [
    ['example.com:443', { host: 'example.com', port: 443, hostKind: 'name' }],
    ['example.com:80', { host: 'example.com', port: 80, hostKind: 'name' }],
    ['example.com:1', { host: 'example.com', port: 1, hostKind: 'name' }],
    ['example.com:65535', { host: 'example.com', port: 65535, hostKind: 'name' }],
    ['example.com:080', { host: 'example.com', port: 80, hostKind: 'name' }],
    ['EXAMPLE.Com:443', { host: 'example.com', port: 443, hostKind: 'name' }],
    ['example.com.:443', { host: 'example.com', port: 443, hostKind: 'name' }],
    ['localhost.:8080', { host: 'localhost', port: 8080, hostKind: 'name' }],
    ['_sip._tcp.example.com:443', { host: '_sip._tcp.example.com', port: 443, hostKind: 'name' }],
    ['bücher.de:443', { host: 'xn--bcher-kva.de', port: 443, hostKind: 'name' }],
    ['BÜCHER.de:443', { host: 'xn--bcher-kva.de', port: 443, hostKind: 'name' }],
    ['münchen.example:443', { host: 'xn--mnchen-3ya.example', port: 443, hostKind: 'name' }],
    ['93.184.216.34:443', { host: '93.184.216.34', port: 443, hostKind: 'ipv4' }],
    ['[::1]:443', { host: '::1', port: 443, hostKind: 'ipv6' }],
    ['[2001:DB8::1]:8443', { host: '2001:db8::1', port: 8443, hostKind: 'ipv6' }],
    ['[2001:db8:0:0:0:0:0:1]:443', { host: '2001:db8::1', port: 443, hostKind: 'ipv6' }],
    ['[fe80::1]:80', { host: 'fe80::1', port: 80, hostKind: 'ipv6' }],
    ['[::ffff:127.0.0.1]:443', { host: '::ffff:7f00:1', port: 443, hostKind: 'ipv6' }],
    // Every IPv4 spelling a resolver would accept must reach policy as the dotted quad.
    ['127.0.0.1:443', { host: '127.0.0.1', port: 443, hostKind: 'ipv4' }],
    ['2130706433:443', { host: '127.0.0.1', port: 443, hostKind: 'ipv4' }],
    ['0177.0.0.1:443', { host: '127.0.0.1', port: 443, hostKind: 'ipv4' }],
    ['0x7f.0.0.1:443', { host: '127.0.0.1', port: 443, hostKind: 'ipv4' }],
    ['0X7F.0.0.1:443', { host: '127.0.0.1', port: 443, hostKind: 'ipv4' }],
    ['127.1:443', { host: '127.0.0.1', port: 443, hostKind: 'ipv4' }],
    ['0x7f000001:443', { host: '127.0.0.1', port: 443, hostKind: 'ipv4' }],
    ['0x7f.1:443', { host: '127.0.0.1', port: 443, hostKind: 'ipv4' }],
    ['127.0.0.1.:443', { host: '127.0.0.1', port: 443, hostKind: 'ipv4' }],
    ['0251.0376.0251.0376:80', { host: '169.254.169.254', port: 80, hostKind: 'ipv4' }],
    ['2852039166:80', { host: '169.254.169.254', port: 80, hostKind: 'ipv4' }],
    ['10.1:443', { host: '10.0.0.1', port: 443, hostKind: 'ipv4' }],
  ];
  for (const [input, expected] of ok) {
    test(`${input} -> ${expected.hostKind} ${expected.host}:${expected.port}`, () => {
      assert.deepEqual(parseAuthority(input), expected);
    });
  }

  const bad: Array<[input: string, why: RegExp]> = [
    ['', /is not host:port/],
    ['example.com', /port is required/],
    ['::1:443', /port is required/],
    ['2001:db8::1', /port is required/],
    ['example.com:', /bad port/],
    ['example.com:0', /port out of range/],
    ['example.com:65536', /port out of range/],
    ['example.com:99999', /port out of range/],
    ['example.com:123456', /bad port/],
    ['example.com:+1', /bad port/],
    ['example.com:-1', /bad port/],
    ['example.com:https', /bad port/],
    ['example.com:44 3', /is not host:port/],
    ['user@example.com:443', /is not host:port/],
    ['user:pass@example.com:443', /is not host:port/],
    ['example.com:443/path', /is not host:port/],
    ['example.com/path:443', /is not host:port/],
    ['example.com:443?q', /is not host:port/],
    ['example.com:443#f', /is not host:port/],
    ['exa mple.com:443', /is not host:port/],
    ['example.com\\evil:443', /is not host:port/],
    ['http://example.com:443', /is not host:port/],
    ['[]:443', /not a valid host/],
    ['[127.0.0.1]:443', /not a valid host/],
    ['[::1%25eth0]:443', /not a valid host/],
    ['1.2.3.4.5:443', /not a valid host/],
    ['256.0.0.1:443', /not a valid host/],
    ['.:443', /empty host/],
    ['a..b:443', /not a valid host name/],
    ['-a.example.com:443', /not a valid host name/],
    ['a-.example.com:443', /not a valid host name/],
    [`${'a.'.repeat(127)}com:443`, /not a valid host name/],
  ];
  for (const [input, why] of bad) {
    test(`refuses ${JSON.stringify(input)}`, () => {
      assertBadTarget(() => parseAuthority(input), why);
    });
  }
});

describe('parseAbsoluteUri', () => {
  const ok: Array<[input: string, expected: Destination, pathname?: string]> = [
    ['http://example.com/', { host: 'example.com', port: 80, hostKind: 'name' }, '/'],
    ['https://example.com/a/b?c=d', { host: 'example.com', port: 443, hostKind: 'name' }, '/a/b'],
    ['http://example.com:8080/', { host: 'example.com', port: 8080, hostKind: 'name' }],
    ['https://example.com:443/', { host: 'example.com', port: 443, hostKind: 'name' }],
    ['http://example.com:443/', { host: 'example.com', port: 443, hostKind: 'name' }],
    ['HTTP://EXAMPLE.COM./x', { host: 'example.com', port: 80, hostKind: 'name' }, '/x'],
    ['http://bücher.de/', { host: 'xn--bcher-kva.de', port: 80, hostKind: 'name' }],
    ['http://[::1]/', { host: '::1', port: 80, hostKind: 'ipv6' }],
    ['https://[2001:db8::1]:8443/', { host: '2001:db8::1', port: 8443, hostKind: 'ipv6' }],
    ['http://2130706433/', { host: '127.0.0.1', port: 80, hostKind: 'ipv4' }],
    ['http://0x7f.1/', { host: '127.0.0.1', port: 80, hostKind: 'ipv4' }],
    ['ws://example.com/socket', { host: 'example.com', port: 80, hostKind: 'name' }],
    ['wss://example.com/socket', { host: 'example.com', port: 443, hostKind: 'name' }],
  ];
  for (const [input, expected, pathname] of ok) {
    test(`${input} -> ${expected.host}:${expected.port}`, () => {
      const { dest, url } = parseAbsoluteUri(input);
      assert.deepEqual(dest, expected);
      assert.ok(url instanceof URL);
      if (pathname !== undefined) assert.equal(url.pathname, pathname);
    });
  }

  const bad: Array<[input: string, why: RegExp]> = [
    ['/relative/path', /not an absolute URI/],
    ['example.com', /not an absolute URI/],
    ['', /not an absolute URI/],
    ['ftp://example.com/', /scheme ftp: is not proxied/],
    ['file:///etc/passwd', /scheme file: is not proxied/],
    ['gopher://example.com/', /scheme gopher: is not proxied/],
    ['javascript:alert(1)', /scheme javascript: is not proxied/],
    ['http://user:pass@example.com/', /credentials in the request URI are refused/],
    ['http://user@example.com/', /credentials in the request URI are refused/],
    ['https://:pass@example.com/', /credentials in the request URI are refused/],
    ['http://example.com:0/', /port out of range/],
    ['http://a..b/', /not a valid host name/],
  ];
  for (const [input, why] of bad) {
    test(`refuses ${JSON.stringify(input)}`, () => {
      assertBadTarget(() => parseAbsoluteUri(input), why);
    });
  }

  test('a very long target is truncated in the message', () => {
    const target = `ftp://${'a'.repeat(500)}.example/`;
    assert.throws(
      () => parseAbsoluteUri(`notascheme${'x'.repeat(500)}`),
      (err: unknown) => err instanceof ProxyError && err.message.length < 400 && err.message.includes('...'),
    );
    assertBadTarget(() => parseAbsoluteUri(target), /scheme ftp:/);
  });
});

describe('formatHostPort', () => {
  const cases: Array<[host: string, port: number, expected: string]> = [
    ['example.com', 443, 'example.com:443'],
    ['93.184.216.34', 80, '93.184.216.34:80'],
    ['::1', 443, '[::1]:443'],
    ['2001:db8::1', 8443, '[2001:db8::1]:8443'],
    ['::ffff:7f00:1', 80, '[::ffff:7f00:1]:80'],
  ];
  for (const [host, port, expected] of cases) {
    test(`${host} ${port} -> ${expected}`, () => {
      assert.equal(formatHostPort(host, port), expected);
    });
  }

  test('round-trips through parseAuthority', () => {
    for (const [host, port] of cases) {
      const dest = parseAuthority(formatHostPort(host, port));
      assert.equal(dest.host, host);
      assert.equal(dest.port, port);
    }
  });
});
