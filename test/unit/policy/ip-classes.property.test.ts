/**
 * Properties of the address classifier (src/policy/ip-classes.ts): an address is classified by
 * what it is, not how it is written. Every spelling of an address, and the canonical form the
 * normaliser makes of it, get the same class; an IPv4 address carried inside IPv6 (mapped,
 * SIIT, NAT64, 6to4, Teredo) gets the IPv4 address's class whenever that class is guarded.
 */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseAuthority } from '../../../src/model/destination.js';
import { classifyAddress, embeddedIpv4, ipv6Groups } from '../../../src/policy/ip-classes.js';
import { fuzzParams } from '../../helpers/fuzz.js';
import { dotted, ipv4Spelling } from '../model/destination-arbitraries.js';
import { referenceClassify, referenceEmbeddedIpv4 } from './ip-classes-reference.js';

const hex = (g: number) => g.toString(16);

/** Eight groups, biased toward the prefixes the classifier has rules for. */
const groups: fc.Arbitrary<number[]> = fc
  .tuple(
    fc.constantFrom([], [0, 0, 0, 0, 0, 0xffff], [0, 0, 0, 0, 0xffff, 0], [0x64, 0xff9b], [0x64, 0xff9b, 1], [0x2002], [0x2001, 0], [0xfe80], [0xfc00], [0xfd00, 0xec2], [0xff02], [0x2001, 0xdb8], [0x100], [0xfec0], [0, 0, 0, 0, 0, 0, 0]),
    fc.array(fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
  )
  .map(([prefix, rest]) => [...prefix, ...rest].slice(0, 8));

/** One textual form of `g`: leading zeros, any case, "::" over any zero run, a dotted-quad tail. */
function spelling(g: number[]): fc.Arbitrary<string> {
  const zeroRuns: Array<[number, number]> = [];
  for (let i = 0; i < 8; i++) for (let j = i; j < 8 && g[j] === 0; j++) zeroRuns.push([i, j + 1]);
  return fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
      fc.boolean(),
      zeroRuns.length > 0 ? fc.option(fc.constantFrom(...zeroRuns), { nil: undefined }) : fc.constant(undefined),
      fc.boolean(),
    )
    .map(([pads, upper, run, dottedTail]) => {
      const text = g.map((x, i) => hex(x).padStart(Math.min(4, hex(x).length + pads[i]!), '0'));
      const tail = dottedTail && (!run || run[1] <= 6) ? [dotted(((g[6]! << 16) | g[7]!) >>> 0)] : undefined;
      const parts = tail ? [...text.slice(0, 6), ...tail] : text;
      let out: string;
      if (run) {
        const end = tail ? Math.min(run[1], 6) : run[1];
        out = `${parts.slice(0, run[0]).join(':')}::${parts.slice(end).join(':')}`;
      } else out = parts.join(':');
      return upper ? out.toUpperCase() : out;
    });
}

const ipv6Form = groups.chain((g) => spelling(g).map((text) => ({ g, text })));

/** What the destination normaliser makes of an address (the form policy sees). */
function canonical(ip: string): string {
  return parseAuthority(isIP(ip) === 6 ? `[${ip}]:443` : `${ip}:443`).host;
}

describe('property: address classes do not depend on spelling', () => {
  test('every IPv4 spelling the normaliser accepts is classified as its dotted quad', () => {
    fc.assert(
      fc.property(ipv4Spelling, ({ n, text }) => {
        const host = parseAuthority(`${text}:443`).host;
        assert.deepEqual(classifyAddress(host), classifyAddress(dotted(n)));
      }),
      fuzzParams(2000),
    );
  });

  test('every IPv6 spelling is classified as its canonical form, and expands to the same groups', () => {
    fc.assert(
      fc.property(ipv6Form, ({ g, text }) => {
        assert.equal(isIP(text), 6, text);
        assert.deepEqual(ipv6Groups(text), g, text);
        const c = canonical(text);
        assert.equal(isIP(c), 6);
        assert.deepEqual(classifyAddress(text), classifyAddress(c), `${text} vs ${c}`);
        assert.deepEqual(classifyAddress(text), classifyAddress(g.map(hex).join(':')), text);
      }),
      fuzzParams(3000),
    );
  });

  test('an IPv4 address inside IPv6 takes the IPv4 class whenever that class is not public', () => {
    const wrappers: Array<[string, (v4: number) => number[]]> = [
      ['mapped ::ffff:0:0/96', (v) => [0, 0, 0, 0, 0, 0xffff, v >>> 16, v & 0xffff]],
      ['SIIT ::ffff:0:0:0/96', (v) => [0, 0, 0, 0, 0xffff, 0, v >>> 16, v & 0xffff]],
      ['NAT64 64:ff9b::/96', (v) => [0x64, 0xff9b, 0, 0, 0, 0, v >>> 16, v & 0xffff]],
      ['local NAT64 64:ff9b:1::/48', (v) => [0x64, 0xff9b, 1, 0, 0, 0, v >>> 16, v & 0xffff]],
      ['6to4 2002::/16', (v) => [0x2002, v >>> 16, v & 0xffff, 0, 0, 0, 0, 1]],
      ['Teredo 2001::/32', (v) => [0x2001, 0, 0x4136, 0xe378, 0x8000, 0x63bf, (v >>> 16) ^ 0xffff, (v & 0xffff) ^ 0xffff]],
    ];
    const wrapped = fc
      .tuple(ipv4Spelling, fc.constantFrom(...wrappers))
      .chain(([v4, [name, wrap]]) => spelling(wrap(v4.n)).map((text) => ({ v4: v4.n, name, text })));
    fc.assert(
      fc.property(wrapped, ({ v4, name, text }) => {
        const inner = classifyAddress(dotted(v4));
        const outer = classifyAddress(text);
        assert.deepEqual(outer, classifyAddress(canonical(text)), `${name}: ${text}`);
        if (inner.cls !== 'public') assert.deepEqual(outer, { cls: inner.cls, via: dotted(v4) }, `${name}: ${text}`);
      }),
      fuzzParams(3000),
    );
  });

  test('any string is classified or refused with a TypeError; classes come from the closed set', () => {
    const CLASSES = new Set(['public', 'unspecified', 'loopback', 'private', 'link-local', 'metadata', 'cgnat', 'ula', 'multicast', 'broadcast', 'reserved', 'documentation', 'benchmarking', 'site-local']);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.x%[]'), maxLength: 45 }), fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (s) => {
        if (isIP(s) === 0) return void assert.throws(() => classifyAddress(s), TypeError);
        assert.ok(CLASSES.has(classifyAddress(s).cls));
      }),
      fuzzParams(3000),
    );
  });

  test('the arithmetic classifier agrees with the BlockList one it replaced, on every spelling', () => {
    const v4 = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0x7f000001, 0xa9fea9fe, 0xa9feaa02, 0x646464c8, 0xffffffff, 0xfffffffe, 0x0a000001, 0xc0000201)).map(dotted);
    const any = fc.oneof(v4, ipv6Form.map(({ text }) => text), fc.ipV6(), fc.ipV4(), fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%'), maxLength: 45 }));
    fc.assert(
      fc.property(any, (ip) => {
        if (isIP(ip) === 0) return;
        assert.deepEqual(classifyAddress(ip), referenceClassify(ip), ip);
        assert.equal(embeddedIpv4(ip), referenceEmbeddedIpv4(ip), ip);
      }),
      fuzzParams(5000),
    );
  });
});
