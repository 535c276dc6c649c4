import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAuthority } from '../../../src/model/destination.js';
import { bypassesProxy, parseNoProxy } from '../../../src/upstream/no-proxy.js';

describe('parseNoProxy', () => {
  const cases: Array<[list: string | string[], entries: Array<[source: string, port: number | undefined]>]> = [
    ['', []],
    [' , ,\t', []],
    ['*', [['*', undefined]]],
    ['example.com', [['example.com', undefined]]],
    ['a.com,b.com', [['a.com', undefined], ['b.com', undefined]]],
    ['a.com, b.com  c.com\tD.COM\nE.com', [['a.com', undefined], ['b.com', undefined], ['c.com', undefined], ['D.COM', undefined], ['E.com', undefined]]],
    [['a.com', 'b.com,c.com'], [['a.com', undefined], ['b.com', undefined], ['c.com', undefined]]],
    ['example.com:8080', [['example.com:8080', 8080]]],
    ['10.0.0.0/8:443', [['10.0.0.0/8:443', 443]]],
    ['1.2.3.4:80', [['1.2.3.4:80', 80]]],
    ['[::1]:8080', [['[::1]:8080', 8080]]],
    // An unbracketed IPv6 address has no port: its last group is part of the address.
    ['::1', [['::1', undefined]]],
    ['2001:db8::1:8080', [['2001:db8::1:8080', undefined]]],
    ['fe80::1', [['fe80::1', undefined]]],
  ];
  for (const [list, entries] of cases) {
    test(`${JSON.stringify(list)}`, () => {
      assert.deepEqual(
        parseNoProxy(list).map((e) => [e.source, e.port]),
        entries,
      );
    });
  }
});

describe('bypassesProxy', () => {
  const cases: Array<[list: string | string[], target: string, expected: boolean]> = [
    ['*', 'example.com:443', true],
    ['*', '93.184.216.34:443', true],
    ['*', '[::1]:443', true],
    ['', 'example.com:443', false],
    // A bare domain matches the apex and every subdomain (curl and Go agree).
    ['example.com', 'example.com:443', true],
    ['example.com', 'www.example.com:443', true],
    ['example.com', 'a.b.example.com:80', true],
    ['example.com', 'notexample.com:443', false],
    ['example.com', 'example.com.evil.net:443', false],
    ['example.com', 'example.org:443', false],
    ['.example.com', 'example.com:443', true],
    ['.example.com', 'www.example.com:443', true],
    ['.example.com', 'badexample.com:443', false],
    ['*.example.com', 'example.com:443', true],
    ['*.example.com', 'a.b.example.com:443', true],
    ['*.example.com', 'xexample.com:443', false],
    ['example.com.', 'example.com:443', true],
    // Case-insensitive both ways (the destination is already lowercase).
    ['EXAMPLE.COM', 'example.com:443', true],
    ['Example.Com', 'WWW.EXAMPLE.COM:443', true],
    // IDNA: the destination arrives as punycode.
    ['bücher.de', 'bücher.de:443', true],
    ['xn--bcher-kva.de', 'bücher.de:443', true],
    // Ports narrow an entry.
    ['example.com:8080', 'example.com:8080', true],
    ['example.com:8080', 'www.example.com:8080', true],
    ['example.com:8080', 'example.com:443', false],
    ['*:443', 'anything.example:443', true],
    ['*:443', 'anything.example:80', false],
    // Addresses and CIDRs match address targets only.
    ['10.0.0.1', '10.0.0.1:443', true],
    ['10.0.0.1', '10.0.0.2:443', false],
    ['10.0.0.0/8', '10.2.3.4:443', true],
    ['10.0.0.0/8', '11.2.3.4:443', false],
    ['10.0.0.0/8', '[::ffff:10.2.3.4]:443', true],
    ['10.0.0.0/8:443', '10.1.1.1:443', true],
    ['10.0.0.0/8:443', '10.1.1.1:80', false],
    ['1.2.3.4:80', '1.2.3.4:80', true],
    ['1.2.3.4:80', '1.2.3.4:443', false],
    ['127.0.0.1', 'localhost:80', false],
    ['10.0.0.0/8', 'ten.example:443', false],
    ['localhost', '127.0.0.1:80', false],
    ['localhost,127.0.0.1', '127.0.0.1:80', true],
    ['localhost,127.0.0.1', 'localhost:80', true],
    // IPv6, bare, bracketed, with a port, and CIDRs.
    ['::1', '[::1]:443', true],
    ['[::1]', '[::1]:443', true],
    ['[::1]:8080', '[::1]:8080', true],
    ['[::1]:8080', '[::1]:443', false],
    ['2001:db8::1', '[2001:db8::1]:443', true],
    ['2001:DB8::1', '[2001:db8::1]:443', true],
    ['fd00::/8', '[fd12::1]:443', true],
    ['fd00::/8', '[fe80::1]:443', false],
    // Names never match address entries and vice versa.
    ['example.com', '93.184.216.34:443', false],
    // Separators.
    ['a.example, b.example c.example', 'c.example:443', true],
    [['a.example', 'b.example'], 'b.example:443', true],
    ['a.example,b.example', 'c.example:443', false],
    // A malformed entry matches nothing instead of throwing.
    ['10.0.0.0/33', '10.0.0.1:443', false],
    ['10.0.0.0/33,10.0.0.1', '10.0.0.1:443', true],
  ];
  for (const [list, target, expected] of cases) {
    test(`NO_PROXY=${JSON.stringify(list)} ${expected ? 'bypasses' : 'proxies'} ${target}`, () => {
      assert.equal(bypassesProxy(parseNoProxy(list), parseAuthority(target)), expected);
    });
  }
});
