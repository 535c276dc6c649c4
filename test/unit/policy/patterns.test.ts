import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileGlob, compileHostPattern, matchesAddress, matchesName, PatternError, type HostPattern } from '../../../src/policy/patterns.js';

type Shape =
  | { kind: 'any' }
  | { kind: 'exact'; host: string }
  | { kind: 'suffix'; suffix: string; apex: boolean }
  | { kind: 'cidr'; family: 'ipv4' | 'ipv6' };

function shape(p: HostPattern): Shape {
  switch (p.kind) {
    case 'any':
      return { kind: 'any' };
    case 'exact':
      return { kind: 'exact', host: p.host };
    case 'suffix':
      return { kind: 'suffix', suffix: p.suffix, apex: p.apex };
    case 'cidr':
      return { kind: 'cidr', family: p.family };
  }
}

describe('compileHostPattern', () => {
  const ok: Array<[source: string, expected: Shape]> = [
    ['*', { kind: 'any' }],
    [' * ', { kind: 'any' }],
    ['example.com', { kind: 'exact', host: 'example.com' }],
    ['Example.COM', { kind: 'exact', host: 'example.com' }],
    ['example.com.', { kind: 'exact', host: 'example.com' }],
    [' example.com ', { kind: 'exact', host: 'example.com' }],
    ['localhost', { kind: 'exact', host: 'localhost' }],
    ['bücher.de', { kind: 'exact', host: 'xn--bcher-kva.de' }],
    ['*.example.com', { kind: 'suffix', suffix: '.example.com', apex: false }],
    ['*.Example.com.', { kind: 'suffix', suffix: '.example.com', apex: false }],
    ['*.bücher.de', { kind: 'suffix', suffix: '.xn--bcher-kva.de', apex: false }],
    ['.example.com', { kind: 'suffix', suffix: '.example.com', apex: true }],
    ['192.0.2.7', { kind: 'cidr', family: 'ipv4' }],
    ['2001:db8::1', { kind: 'cidr', family: 'ipv6' }],
    ['[2001:db8::1]', { kind: 'cidr', family: 'ipv6' }],
    ['10.0.0.0/8', { kind: 'cidr', family: 'ipv4' }],
    ['10.0.0.1/32', { kind: 'cidr', family: 'ipv4' }],
    ['0.0.0.0/0', { kind: 'cidr', family: 'ipv4' }],
    ['fd00::/8', { kind: 'cidr', family: 'ipv6' }],
    ['::/0', { kind: 'cidr', family: 'ipv6' }],
  ];
  for (const [source, expected] of ok) {
    test(`${JSON.stringify(source)} compiles to ${expected.kind}`, () => {
      const p = compileHostPattern(source);
      assert.deepEqual(shape(p), expected);
      assert.equal(p.source, source);
    });
  }

  const hostMsg = /is not a host pattern \(use example\.com, \*\.example\.com, \.example\.com, an IP address or a CIDR\)/;
  const bad: Array<[source: string, message: RegExp]> = [
    ['', hostMsg],
    ['   ', hostMsg],
    ['.', hostMsg],
    ['*.', hostMsg],
    ['*.*.example.com', hostMsg],
    ['exa mple.com', hostMsg],
    ['example.com:443', hostMsg],
    ['-bad.example.com', hostMsg],
    ['a..b', hostMsg],
    ['a*b.example.com', /a wildcard is only allowed as a leading "\*\." \(e\.g\. \*\.example\.com\)/],
    ['*example.com', /a wildcard is only allowed as a leading "\*\."/],
    ['**.example.com', /a wildcard is only allowed as a leading "\*\."/],
    ['example.*', /a wildcard is only allowed as a leading "\*\."/],
    ['foo/8', /"foo\/8" is not a valid address or CIDR/],
    ['http://example.com', /is not a valid address or CIDR/],
    ['10.0.0.0/33', /"10\.0\.0\.0\/33" has a bad prefix length \(0-32\)/],
    ['10.0.0.0/-1', /bad prefix length \(0-32\)/],
    ['10.0.0.0/', /bad prefix length \(0-32\)/],
    ['10.0.0.0/8a', /bad prefix length \(0-32\)/],
    ['10.0.0.0/8.5', /bad prefix length \(0-32\)/],
    ['fd00::/129', /bad prefix length \(0-128\)/],
    ['300.0.0.0/8', /is not a valid address or CIDR/],
  ];
  for (const [source, message] of bad) {
    test(`refuses ${JSON.stringify(source)}`, () => {
      assert.throws(
        () => compileHostPattern(source),
        (err: unknown) => {
          assert.ok(err instanceof PatternError, `expected a PatternError, got ${String(err)}`);
          assert.equal(err.name, 'PatternError');
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});

describe('matchesName', () => {
  const cases: Array<[pattern: string, host: string, expected: boolean]> = [
    ['*', 'anything.example', true],
    ['example.com', 'example.com', true],
    ['example.com', 'www.example.com', false],
    ['example.com', 'example.co', false],
    ['example.com', 'notexample.com', false],
    ['EXAMPLE.com.', 'example.com', true],
    ['*.example.com', 'www.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'badexample.com', false],
    ['*.example.com', 'example.com.evil.net', false],
    ['.example.com', 'example.com', true],
    ['.example.com', 'a.example.com', true],
    ['.example.com', 'a.b.example.com', true],
    ['.example.com', 'notexample.com', false],
    ['bücher.de', 'xn--bcher-kva.de', true],
    ['*.bücher.de', 'www.xn--bcher-kva.de', true],
    // address patterns never match names
    ['10.0.0.0/8', '10.0.0.1', false],
    ['192.0.2.7', '192.0.2.7', false],
  ];
  for (const [pattern, host, expected] of cases) {
    test(`${pattern} ${expected ? 'matches' : 'does not match'} ${host}`, () => {
      assert.equal(matchesName(compileHostPattern(pattern), host), expected);
    });
  }
});

describe('matchesAddress', () => {
  const cases: Array<[pattern: string, ip: string, expected: boolean]> = [
    ['*', '1.2.3.4', true],
    ['*', '::1', true],
    ['10.0.0.0/8', '10.1.2.3', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.0/8', '9.255.255.255', false],
    // An IPv4 rule covers the IPv6 spellings of the same address.
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '::ffff:a01:203', true],
    ['10.0.0.0/8', '64:ff9b::a01:203', true],
    ['10.0.0.0/8', '2002:a01:203::1', true],
    ['10.0.0.0/8', '::ffff:11.0.0.1', false],
    ['10.0.0.0/8', '2606:2800:220:1::1', false],
    ['192.0.2.7', '192.0.2.7', true],
    ['192.0.2.7', '192.0.2.8', false],
    ['192.0.2.7', '::ffff:192.0.2.7', true],
    ['2001:db8::1', '2001:db8::1', true],
    ['2001:db8::1', '2001:db8:0:0:0:0:0:1', true],
    ['2001:db8::1', '2001:db8::2', false],
    ['[2001:db8::1]', '2001:db8::1', true],
    ['fd00::/8', 'fd12::1', true],
    ['fd00::/8', 'fe80::1', false],
    ['fd00::/8', '10.0.0.1', false],
    ['::/0', '1.2.3.4', false],
    ['0.0.0.0/0', '1.2.3.4', true],
    // name patterns never match addresses
    ['example.com', '93.184.216.34', false],
    ['.example.com', '93.184.216.34', false],
  ];
  for (const [pattern, ip, expected] of cases) {
    test(`${pattern} ${expected ? 'matches' : 'does not match'} ${ip}`, () => {
      assert.equal(matchesAddress(compileHostPattern(pattern), ip), expected);
    });
  }
});

describe('compileGlob', () => {
  const cases: Array<[glob: string, value: string, expected: boolean]> = [
    ['spiffe://cluster.local/ns/payments/sa/api', 'spiffe://cluster.local/ns/payments/sa/api', true],
    ['spiffe://cluster.local/ns/payments/sa/api', 'spiffe://cluster.local/ns/payments/sa/api2', false],
    ['spiffe://cluster.local/ns/payments/sa/api', 'SPIFFE://cluster.local/ns/payments/sa/api', false],
    ['spiffe://cluster.local/ns/payments/sa/*', 'spiffe://cluster.local/ns/payments/sa/api', true],
    ['spiffe://cluster.local/ns/payments/sa/*', 'spiffe://cluster.local/ns/payments/sa/', true],
    ['spiffe://cluster.local/ns/payments/sa/*', 'spiffe://cluster.local/ns/other/sa/api', false],
    ['spiffe://cluster.local/ns/*/sa/api', 'spiffe://cluster.local/ns/payments/sa/api', true],
    ['spiffe://cluster.local/ns/*/sa/api', 'spiffe://cluster.local/ns/payments/sa/web', false],
    ['*', '', true],
    ['*', 'alice', true],
    ['alice', 'alice', true],
    ['alice', 'alicex', false],
    ['alice', 'xalice', false],
    ['*@example.com', 'bob@example.com', true],
    ['*@example.com', 'bob@example.org', false],
    // regex metacharacters are literal
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['a.*', 'a.b', true],
    ['a.*', 'axb', false],
    ['a+b', 'a+b', true],
    ['a+b', 'aab', false],
    ['(x)|y', '(x)|y', true],
    ['(x)|y', 'y', false],
    ['a[b]*', 'a[b]c', true],
    ['$^\\?', '$^\\?', true],
  ];
  for (const [glob, value, expected] of cases) {
    test(`${JSON.stringify(glob)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(value)}`, () => {
      assert.equal(compileGlob(glob)(value), expected);
    });
  }
});
