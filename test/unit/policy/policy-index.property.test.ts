/**
 * Properties of the policy index (src/policy/policy-index.ts): for any rule list and any target,
 * the indexed decision is the one a scan of every rule in file order makes (linear-index.ts),
 * down to the rule named, the reason, the report-mode denial carried along and the explain output.
 * Rules and targets are drawn from small pools so that they collide: overlapping CIDRs, a name
 * matched by an exact rule and by suffixes at several depths, IPv4 rules met through IPv6
 * spellings (mapped, NAT64, 6to4, Teredo), ports, identities, report mode, case and trailing dots.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseAuthority } from '../../../src/model/destination.js';
import { ANONYMOUS, type ClientIdentity } from '../../../src/model/identity.js';
import type { RequestFacts } from '../../../src/model/decision.js';
import { compilePolicy, type PolicySpec, type RuleSpec } from '../../../src/policy/compile.js';
import { decideAddress, decideHost } from '../../../src/policy/decide.js';
import { explainDecision } from '../../../src/policy/explain.js';
import { compileHostPattern, matchesAddress } from '../../../src/policy/patterns.js';
import { fuzzParams } from '../../helpers/fuzz.js';
import { dotted } from '../model/destination-arbitraries.js';
import { blockListOf, linearPolicy, netContains } from './linear-index.js';

const LABELS = ['a', 'b', 'api', 'example', 'com', 'x-y', '_svc', 'Com'];
const name = fc.array(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const trailingDot = (text: string) => fc.boolean().map((dot) => (dot ? `${text}.` : text));

/** Networks that nest and overlap, and addresses near them. */
const V4_BASES = [0x0a000000, 0x0a010203, 0x0a0100ff, 0xc0a80101, 0x08080808, 0x7f000001, 0xa9fea9fe, 0];
const V6_BASES = [
  [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1],
  [0xfd00, 0, 0, 0, 0, 0, 0, 1],
  [0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001],
  [0x64, 0xff9b, 0, 0, 0, 0, 0x0a01, 0x0203],
  [0x2002, 0x0a00, 0x0001, 0, 0, 0, 0, 0],
  [0x2001, 0, 0, 0, 0, 0, 0xf5fe, 0xfffe],
  [0, 0, 0, 0, 0, 0, 0, 1],
];

/** `base` with its bits after the first `keep` replaced by random ones. */
function near(base: number, keep: number, noise: number): number {
  const mask = keep === 0 ? 0 : keep >= 32 ? 0xffffffff : (0xffffffff << (32 - keep)) >>> 0;
  return ((base & mask) | (noise & ~mask)) >>> 0;
}
/** Prefix lengths and kept bits, biased toward long ones so that addresses fall inside or just outside. */
const bits = (max: number) => fc.oneof(fc.integer({ min: 0, max }), fc.integer({ min: max - 12, max }));
const v4Word = fc.tuple(fc.constantFrom(...V4_BASES), bits(32), fc.integer({ min: 0, max: 0xffffffff })).map(([b, k, n]) => near(b, k, n));
const v6Groups = fc
  .tuple(fc.constantFrom(...V6_BASES), fc.integer({ min: 0, max: 8 }), fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }))
  .map(([b, k, noise]) => b.map((g, i) => (i < k ? g : noise[i]!)));

/** An IPv6 spelling: full, upper case, compressed, or with a dotted-quad tail. */
function v6Text(g: number[]): fc.Arbitrary<string> {
  const full = g.map((x) => x.toString(16)).join(':');
  const canonical = new URL(`http://[${full}]/`).hostname.slice(1, -1);
  const dottedTail = `${g.slice(0, 6).map((x) => x.toString(16)).join(':')}:${dotted(((g[6]! << 16) | g[7]!) >>> 0)}`;
  return fc.constantFrom(full, full.toUpperCase(), canonical, dottedTail);
}
const v6Address = v6Groups.chain(v6Text);
const v4Address = v4Word.map(dotted);
const address = fc.oneof(v4Address, v6Address);

const cidr = fc.oneof(
  fc.tuple(v4Word, bits(32), fc.boolean()).map(([w, p, bare]) => (bare && p === 32 ? dotted(w) : `${dotted(w)}/${p}`)),
  fc.tuple(v6Address, bits(128), fc.boolean()).map(([a, p, bare]) => (bare && p === 128 ? `[${a}]` : `${a}/${p}`)),
);

/** A network and an address one bit away from its base: inside when the bit is past the prefix. */
const boundary = fc.oneof(
  fc.tuple(v4Word, fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 31 })).map(([w, p, b]) => ({ c: `${dotted(w)}/${p}`, ip: dotted((w ^ (1 << b)) >>> 0) })),
  fc.tuple(v6Groups, fc.integer({ min: 0, max: 128 }), fc.integer({ min: 0, max: 127 })).chain(([g, p, b]) => {
    const flipped = g.map((x, i) => (i === 7 - (b >> 4) ? x ^ (1 << (b & 15)) : x));
    return fc.tuple(v6Text(g), v6Text(flipped)).map(([net, ip]) => ({ c: `${net}/${p}`, ip }));
  }),
);

const hostPattern = fc.oneof(
  { arbitrary: name.chain(trailingDot), weight: 3 },
  { arbitrary: name.map((n) => `*.${n}`), weight: 3 },
  { arbitrary: name.map((n) => `.${n}`), weight: 2 },
  { arbitrary: fc.constant('*'), weight: 1 },
  { arbitrary: cidr, weight: 4 },
);

const rule: fc.Arbitrary<RuleSpec> = fc.record(
  {
    action: fc.constantFrom('allow', 'deny'),
    hosts: fc.array(hostPattern, { minLength: 1, maxLength: 3 }),
    ports: fc.subarray([80, 443, 8443], { minLength: 1 }),
    identities: fc.subarray(['alice', 'b*'], { minLength: 1 }),
    enforcement: fc.constantFrom('enforce', 'report'),
  },
  { requiredKeys: ['action', 'hosts'] },
) as fc.Arbitrary<RuleSpec>;

const spec: fc.Arbitrary<PolicySpec> = fc.record({
  default: fc.constantFrom(undefined, 'allow', 'deny'),
  allowPrivate: fc.boolean(),
  connectPorts: fc.constant([80, 443, 8443]),
  enforcement: fc.constantFrom('enforce', 'report'),
  rules: fc.array(rule, { maxLength: 12 }),
}) as fc.Arbitrary<PolicySpec>;

const target = fc.oneof(
  { arbitrary: name.chain(trailingDot), weight: 3 },
  { arbitrary: v4Address, weight: 2 },
  { arbitrary: v6Address.map((a) => `[${a}]`), weight: 2 },
);
const identity: fc.Arbitrary<ClientIdentity> = fc.constantFrom(ANONYMOUS, ...['alice', 'bob', 'carol'].map((p) => ({ kind: 'user' as const, principal: p, attributes: {} })));
const facts: fc.Arbitrary<RequestFacts> = fc
  .tuple(target, fc.constantFrom(80, 443, 443, 8443, 22), identity)
  .map(([host, port, id]) => ({ dest: parseAuthority(`${host}:${port}`), identity: id, method: 'CONNECT' }));

describe('property: the indexed policy decides as a scan of every rule', () => {
  test('phase one (the name or IP literal) and phase two (each address) name the same rule', () => {
    fc.assert(
      fc.property(spec, facts, fc.array(address, { maxLength: 3 }), (s, f, resolved) => {
        const policy = compilePolicy(s);
        const linear = linearPolicy(policy);
        const host = decideHost(policy, f);
        assert.deepEqual(host, decideHost(linear, f), 'decideHost');
        for (const ip of resolved) assert.deepEqual(decideAddress(policy, f, ip, host, undefined), decideAddress(linear, f, ip, host, undefined), `decideAddress ${ip}`);
      }),
      fuzzParams(1500),
    );
  });

  test('explain answers the same, with and without resolved addresses', () => {
    fc.assert(
      fc.property(spec, facts, fc.array(address, { maxLength: 3 }), fc.boolean(), (s, f, resolved, viaParent) => {
        const policy = compilePolicy(s);
        const input = { viaParent, self: undefined, resolved };
        assert.deepEqual(explainDecision(policy, f, input), explainDecision(linearPolicy(policy), f, input));
      }),
      fuzzParams(500),
    );
  });

  test('a CIDR pattern contains exactly the addresses BlockList says it does, in any spelling', () => {
    fc.assert(
      fc.property(fc.oneof(fc.record({ c: cidr, ip: address }), boundary), ({ c, ip }) => {
        assert.equal(matchesAddress(compileHostPattern(c), ip), netContains(blockListOf(c), ip), `${c} ∋ ${ip}`);
      }),
      fuzzParams(3000),
    );
  });
});
