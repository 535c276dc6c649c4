import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseAuthority } from '../../../src/model/destination.js';
import { ANONYMOUS, type ClientIdentity } from '../../../src/model/identity.js';
import { compilePolicy, type CompiledPolicy, type PolicySpec } from '../../../src/policy/compile.js';
import { decideAddress, decideHost, defaultDecision, isRefusal, type SelfAddresses } from '../../../src/policy/decide.js';
import type { Decision, RequestFacts } from '../../../src/model/decision.js';
import { decideAddresses, decideBeforeLookup } from '../../../src/policy/route-decision.js';

// The compiled file lives in dist/test/unit/policy/; the YAML stays in the source tree.
const FIXTURES = fileURLToPath(new URL('../../../../test/unit/policy/fixtures/', import.meta.url));

interface Expect {
  verdict: Decision['verdict'];
  ruleId: string;
  enforcement?: Decision['enforcement'];
  phase?: Decision['phase'];
  /** Whether route.ts would stop the request (isRefusal). */
  refused?: boolean;
  address?: string;
  reasonIncludes?: string;
  hintIncludes?: string;
}

interface Case {
  name?: string;
  host: string;
  port: number;
  identity?: string;
  /** What DNS answered; defaults to the literal itself for IP targets (as resolveDestination does). */
  resolved?: string[];
  expect: Expect;
}

interface Fixture {
  description?: string;
  policy?: Partial<PolicySpec>;
  self?: Array<{ ip: string; port: number }>;
  cases: Case[];
}

function loadFixtures(): Array<[file: string, fixture: Fixture]> {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => [file, parseYaml(readFileSync(`${FIXTURES}${file}`, 'utf8')) as Fixture]);
}

function specOf(partial: Partial<PolicySpec> | undefined): PolicySpec {
  return { allowPrivate: false, connectPorts: [443, 80], enforcement: 'enforce', rules: [], ...partial };
}

function selfStub(entries: Fixture['self']): SelfAddresses | undefined {
  if (!entries) return undefined;
  return { isSelf: (ip, port) => entries.some((e) => e.ip === ip && e.port === port) };
}

function identityOf(principal: string | undefined): ClientIdentity {
  if (principal === undefined) return ANONYMOUS;
  return { kind: principal.includes('://') ? 'certificate' : 'user', principal, attributes: {} };
}

function authority(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** decide(host) -> decide(ip) for every address, through the same pure steps pipeline/route.ts runs. */
function runPipeline(policy: CompiledPolicy, facts: RequestFacts, resolved: string[], self: SelfAddresses | undefined): Decision {
  const before = decideBeforeLookup(policy, facts, false, self);
  if (before.final) return before.decision;
  const { refusal, allowed } = decideAddresses(policy, facts, resolved, before.hostDecision, self);
  const out = refusal ?? allowed[0]?.decision;
  assert.ok(out, 'a case needs at least one resolved address');
  return out;
}

for (const [file, fixture] of loadFixtures()) {
  describe(`policy fixture ${file}`, () => {
    const policy = compilePolicy(specOf(fixture.policy));
    const self = selfStub(fixture.self);
    assert.ok(Array.isArray(fixture.cases) && fixture.cases.length > 0, `${file} has no cases`);
    for (const c of fixture.cases) {
      const label = `${c.name ? `${c.name}: ` : ''}${c.identity ? `${c.identity} -> ` : ''}${c.host}:${c.port} => ${c.expect.verdict} (${c.expect.ruleId})`;
      test(label, () => {
        const dest = parseAuthority(authority(String(c.host), c.port));
        const facts: RequestFacts = { dest, identity: identityOf(c.identity), method: 'CONNECT' };
        const resolved = (c.resolved ?? (dest.hostKind === 'name' ? [] : [dest.host])).map(String);
        const d = runPipeline(policy, facts, resolved, self);
        const e = c.expect;
        assert.equal(d.verdict, e.verdict, `verdict (reason: ${d.reason})`);
        assert.equal(d.ruleId, e.ruleId, `ruleId (reason: ${d.reason})`);
        if (e.enforcement !== undefined) assert.equal(d.enforcement, e.enforcement, 'enforcement');
        if (e.phase !== undefined) assert.equal(d.phase, e.phase, 'phase');
        if (e.refused !== undefined) assert.equal(isRefusal(d), e.refused, 'isRefusal');
        if (e.address !== undefined) assert.equal(d.address, e.address, 'address');
        if (e.reasonIncludes !== undefined) assert.ok(d.reason.includes(e.reasonIncludes), `reason ${JSON.stringify(d.reason)}`);
        if (e.hintIncludes !== undefined) assert.ok(d.hint?.includes(e.hintIncludes), `hint ${JSON.stringify(d.hint)}`);
        // Invariants for every decision: a reason always, a hint exactly for denials.
        assert.ok(d.reason.length > 0, 'a decision always has a reason');
        if (d.verdict === 'deny') assert.ok(d.hint && d.hint.length > 0, 'a denial always says how to fix it');
        else assert.equal(d.hint, undefined, 'an allow has no hint');
        if (isRefusal(d)) assert.equal(d.verdict, 'deny');
      });
    }
  });
}

describe('decide: single steps', () => {
  const anon = (authorityText: string): RequestFacts => ({ dest: parseAuthority(authorityText), identity: ANONYMOUS, method: 'CONNECT' });

  test('decideHost returns undefined when no rule speaks and the default is allow', () => {
    const policy = compilePolicy(specOf({ rules: [{ id: 'x', action: 'deny', hosts: ['a.example'] }] }));
    assert.equal(decideHost(policy, anon('b.example:443')), undefined);
  });

  test('in allow-list mode decideHost refuses an unnamed name before DNS, but leaves IP literals to phase two', () => {
    const policy = compilePolicy(specOf({ rules: [{ id: 'x', action: 'allow', hosts: ['a.example', '10.0.0.0/8'] }] }));
    const d = decideHost(policy, anon('b.example:443'));
    assert.ok(d);
    assert.deepEqual([d.verdict, d.ruleId, d.phase, d.enforcement], ['deny', 'default', 'host', 'enforce']);
    assert.equal(decideHost(policy, anon('93.184.216.34:443')), undefined);
    assert.equal(decideHost(policy, anon('10.1.2.3:443'))?.ruleId, 'x');
  });

  test('a name rule never matches an IP literal, a CIDR rule never matches a name', () => {
    const policy = compilePolicy(
      specOf({
        rules: [
          { id: 'name', action: 'deny', hosts: ['93.184.216.34.example'] },
          { id: 'cidr', action: 'deny', hosts: ['93.184.216.0/24'] },
        ],
      }),
    );
    assert.equal(decideHost(policy, anon('93.184.216.34:443'))?.ruleId, 'cidr');
    assert.equal(decideHost(policy, anon('www.example:443')), undefined);
  });

  test('rule decisions carry inspect, and only when set', () => {
    const policy = compilePolicy(
      specOf({
        rules: [
          { id: 'pass', action: 'allow', hosts: ['pinned.example'], inspect: 'passthrough' },
          { id: 'look', action: 'allow', hosts: ['*.example'], inspect: 'intercept' },
          { id: 'plain', action: 'allow', hosts: ['*.test'] },
        ],
      }),
    );
    assert.equal(decideHost(policy, anon('pinned.example:443'))?.inspect, 'passthrough');
    assert.equal(decideHost(policy, anon('www.example:443'))?.inspect, 'intercept');
    const plain = decideHost(policy, anon('a.test:443'));
    assert.ok(plain && !('inspect' in plain));
    const ip = decideAddress(policy, anon('www.example:443'), '93.184.216.34', decideHost(policy, anon('www.example:443')), undefined);
    assert.equal(ip.inspect, 'intercept');
    assert.equal(ip.address, '93.184.216.34');
  });

  test('rule decisions carry alpn (HTTP/1.1 forced for interception), and only when set', () => {
    const policy = compilePolicy(
      specOf({
        rules: [
          { id: 'legacy', action: 'allow', hosts: ['old.example'], alpn: 'http1' },
          { id: 'rest', action: 'allow', hosts: ['*.example'] },
        ],
      }),
    );
    assert.equal(decideHost(policy, anon('old.example:443'))?.alpn, 'http1');
    const rest = decideHost(policy, anon('new.example:443'));
    assert.ok(rest && !('alpn' in rest));
  });

  test('defaultDecision without an address is a host-phase decision', () => {
    const policy = compilePolicy(specOf({ rules: [{ action: 'allow', hosts: ['a.example'] }] }));
    const d = defaultDecision(policy, anon('b.example:443'));
    assert.deepEqual(
      { verdict: d.verdict, ruleId: d.ruleId, phase: d.phase, address: d.address },
      { verdict: 'deny', ruleId: 'default', phase: 'host', address: undefined },
    );
    assert.match(d.hint ?? '', /--allow b\.example/);
  });

  test('isRefusal', () => {
    const base = { ruleId: 'r', phase: 'host', reason: 'x' } as const;
    const cases: Array<[Decision, boolean]> = [
      [{ ...base, verdict: 'deny', enforcement: 'enforce' }, true],
      [{ ...base, verdict: 'deny', enforcement: 'report' }, false],
      [{ ...base, verdict: 'allow', enforcement: 'enforce' }, false],
      [{ ...base, verdict: 'allow', enforcement: 'report' }, false],
    ];
    for (const [d, expected] of cases) assert.equal(isRefusal(d), expected, `${d.verdict}/${d.enforcement}`);
  });
});
