/**
 * Properties of the one destination normaliser (src/model/destination.ts): any string is either
 * a Destination in canonical form that parses back to itself, or a ProxyError whose code is in
 * the error table. `npm run fuzz` runs these for much longer (test/helpers/fuzz.ts).
 */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatHostPort, parseAbsoluteUri, parseAuthority, type Destination } from '../../../src/model/destination.js';
import { isErrorCode, ProxyError } from '../../../src/model/errors.js';
import { fuzzParams } from '../../helpers/fuzz.js';
import { authorityLike, dotted, ipv4Spelling, uriLike } from './destination-arbitraries.js';

/** A host name as policy patterns match it: lowercase LDH (and _) labels, no trailing dot. */
const NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

function assertCanonical(dest: Destination): void {
  assert.ok(Number.isInteger(dest.port) && dest.port >= 1 && dest.port <= 65535, `port ${dest.port}`);
  const family = isIP(dest.host);
  assert.equal(dest.hostKind, family === 4 ? 'ipv4' : family === 6 ? 'ipv6' : 'name', dest.host);
  if (dest.hostKind === 'name') {
    assert.match(dest.host, NAME);
    assert.ok(dest.host.length <= 253);
  } else {
    // The WHATWG serialisation: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run compressed).
    const bracketed = dest.hostKind === 'ipv6' ? `[${dest.host}]` : dest.host;
    assert.equal(new URL(`http://${bracketed}/`).host, bracketed);
  }
}

/** Runs `parse`; a refusal must be a ProxyError with a code from the table, never another throw. */
function parsedOrRefused<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    assert.ok(err instanceof ProxyError, `threw ${String(err)} instead of a ProxyError`);
    assert.ok(isErrorCode(err.code));
    assert.equal(err.code, 'bad_target');
    return undefined;
  }
}

describe('property: CONNECT authority (parseAuthority)', () => {
  test('any string is a canonical destination that round-trips, or bad_target', () => {
    fc.assert(
      fc.property(authorityLike, (s) => {
        const dest = parsedOrRefused(() => parseAuthority(s));
        if (!dest) return;
        assertCanonical(dest);
        assert.deepEqual(parseAuthority(formatHostPort(dest.host, dest.port)), dest);
      }),
      fuzzParams(3000),
    );
  });

  test('with a default port (Host, :authority), the same, and an explicit port wins', () => {
    fc.assert(
      fc.property(authorityLike, fc.integer({ min: 1, max: 65535 }), (s, defaultPort) => {
        const dest = parsedOrRefused(() => parseAuthority(s, defaultPort));
        if (!dest) return;
        assertCanonical(dest);
        assert.deepEqual(parseAuthority(formatHostPort(dest.host, dest.port)), dest);
        const explicit = parsedOrRefused(() => parseAuthority(s));
        if (explicit) assert.deepEqual(explicit, dest);
      }),
      fuzzParams(2000),
    );
  });

  test('every IPv4 spelling (decimal, octal, hex, short forms, trailing dot) becomes the dotted quad', () => {
    fc.assert(
      fc.property(ipv4Spelling, fc.integer({ min: 1, max: 65535 }), ({ n, text }, port) => {
        const dest = parseAuthority(`${text}:${port}`);
        assert.deepEqual(dest, { host: dotted(n), port, hostKind: 'ipv4' }, text);
        assert.deepEqual(parseAbsoluteUri(`http://${text}:${port}/`).dest, dest, text);
      }),
      fuzzParams(2000),
    );
  });

  test('a line break, whitespace, userinfo or a path anywhere in the authority is refused', () => {
    const poison = fc.constantFrom('\n', '\r', '\r\n', ' ', '\t', '@', '/', '?', '#', '\\', '\u00a0', '\u2028');
    fc.assert(
      fc.property(authorityLike, poison, fc.nat(), (s, bad, at) => {
        const i = s.length === 0 ? 0 : at % (s.length + 1);
        const dest = parsedOrRefused(() => parseAuthority(`${s.slice(0, i)}${bad}${s.slice(i)}`));
        assert.equal(dest, undefined);
      }),
      fuzzParams(1000),
    );
  });
});

describe('property: absolute-URI targets (parseAbsoluteUri)', () => {
  test('any string is an http(s)/ws(s) destination in canonical form, or bad_target', () => {
    fc.assert(
      fc.property(uriLike, (s) => {
        const parsed = parsedOrRefused(() => parseAbsoluteUri(s));
        if (!parsed) return;
        const { dest, url } = parsed;
        assertCanonical(dest);
        assert.ok(['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol), url.protocol);
        assert.equal(url.username + url.password, '', 'credentials were accepted');
        assert.deepEqual(parseAuthority(formatHostPort(dest.host, dest.port)), dest);
        // The same authority sent as CONNECT (or Host) names the same destination.
        const viaAuthority = parsedOrRefused(() => parseAuthority(url.host, dest.port));
        if (viaAuthority) assert.deepEqual(viaAuthority, dest);
      }),
      fuzzParams(3000),
    );
  });
});
