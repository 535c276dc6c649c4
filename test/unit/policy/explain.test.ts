import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { identityOf, parseExplainTarget } from '../../../src/control/explain.js';
import type { Decision, RequestFacts } from '../../../src/model/decision.js';
import { parseAuthority } from '../../../src/model/destination.js';
import { ANONYMOUS } from '../../../src/model/identity.js';
import { compilePolicy, type PolicySpec } from '../../../src/policy/compile.js';
import type { SelfAddresses } from '../../../src/policy/decide.js';
import { explainDecision, type AddressOutcome, type Explanation } from '../../../src/policy/explain.js';

// The compiled file lives in dist/test/unit/policy/; the YAML stays in the source tree.
const FIXTURES = fileURLToPath(new URL('../../../../test/unit/policy/fixtures/', import.meta.url));

interface OutcomeExpect {
  when?: string;
  address?: string;
  ruleId: string;
  refused: boolean;
  hintIncludes?: string;
}

interface Expect {
  decidedAt: Explanation['decidedAt'];
  verdict: Decision['verdict'];
  ruleId?: string;
  refused?: boolean;
  hostRuleId?: string;
  reasonIncludes?: string;
  hintIncludes?: string;
  identityKind?: string;
  targetIs?: string;
  noAddressPhase?: boolean;
  ifResolved?: OutcomeExpect[];
  addresses?: OutcomeExpect[];
}

interface Case {
  name: string;
  target: string;
  identity?: string;
  user?: string;
  viaParent?: boolean;
  resolved?: string[];
  expect: Expect;
}

interface Fixture {
  policy?: Partial<PolicySpec>;
  self?: Array<{ ip: string; port: number }>;
  cases: Case[];
}

const specOf = (p: Partial<PolicySpec> | undefined): PolicySpec => ({ allowPrivate: false, connectPorts: [443, 80], enforcement: 'enforce', rules: [], ...p });

function selfStub(entries: Fixture['self']): SelfAddresses | undefined {
  if (!entries) return undefined;
  return { isSelf: (ip, port) => entries.some((e) => e.ip === ip && e.port === port) };
}

function load(dir: string): Array<[string, Fixture]> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => [f, parseYaml(readFileSync(`${dir}${f}`, 'utf8')) as Fixture]);
}

function checkOutcomes(got: AddressOutcome[] | undefined, want: OutcomeExpect[], what: string): void {
  assert.ok(got, `${what} is missing`);
  assert.equal(got.length, want.length, `${what}: ${JSON.stringify(got.map((o) => o.when))}`);
  want.forEach((w, i) => {
    const o = got[i]!;
    if (w.when !== undefined) assert.equal(o.when, w.when, `${what}[${i}].when`);
    if (w.address !== undefined) assert.equal(o.address, w.address, `${what}[${i}].address`);
    assert.equal(o.decision.ruleId, w.ruleId, `${what}[${i}] rule (reason: ${o.decision.reason})`);
    assert.equal(o.refused, w.refused, `${what}[${i}] refused`);
    if (w.hintIncludes !== undefined) assert.ok(o.decision.hint?.includes(w.hintIncludes), `${what}[${i}] hint ${JSON.stringify(o.decision.hint)}`);
  });
}

for (const [file, fixture] of load(`${FIXTURES}explain/`)) {
  describe(`explain fixture ${file}`, () => {
    const policy = compilePolicy(specOf(fixture.policy));
    const self = selfStub(fixture.self);
    for (const c of fixture.cases) {
      test(c.name, () => {
        const facts: RequestFacts = { dest: parseExplainTarget(c.target), identity: identityOf(c), method: 'CONNECT' };
        const input = { viaParent: c.viaParent === true, self, ...(c.resolved ? { resolved: c.resolved.map(String) } : {}) };
        const x = explainDecision(policy, facts, input);
        const e = c.expect;
        assert.equal(x.decidedAt, e.decidedAt, `decidedAt (reason: ${x.decision.reason})`);
        assert.equal(x.decision.verdict, e.verdict, `verdict (reason: ${x.decision.reason})`);
        if (e.ruleId !== undefined) assert.equal(x.decision.ruleId, e.ruleId, `rule (reason: ${x.decision.reason})`);
        if (e.refused !== undefined) assert.equal(x.refused, e.refused, 'refused');
        if (e.hostRuleId !== undefined) assert.equal(x.hostDecision?.ruleId, e.hostRuleId, 'host decision');
        if (e.reasonIncludes !== undefined) assert.ok(x.decision.reason.includes(e.reasonIncludes), `reason ${JSON.stringify(x.decision.reason)}`);
        if (e.hintIncludes !== undefined) assert.ok(x.decision.hint?.includes(e.hintIncludes), `hint ${JSON.stringify(x.decision.hint)}`);
        if (e.identityKind !== undefined) assert.equal(x.identity.kind, e.identityKind);
        if (e.targetIs !== undefined) assert.equal(x.target, e.targetIs);
        if (e.noAddressPhase) assert.deepEqual([x.addresses, x.ifResolved], [undefined, undefined], 'no address phase');
        if (e.ifResolved) checkOutcomes(x.ifResolved, e.ifResolved, 'ifResolved');
        if (e.addresses) checkOutcomes(x.addresses, e.addresses, 'addresses');
        // Every refusal says how to fix it.
        if (x.refused) assert.ok(x.decision.hint, 'a refusal has a fix');
        // A probe stands for an address: resolving the name to that address must give the same answer.
        for (const probe of x.ifResolved ?? []) {
          if (!probe.address) continue;
          const real = explainDecision(policy, facts, { ...input, resolved: [probe.address] });
          assert.deepEqual([real.decision.ruleId, real.refused], [probe.decision.ruleId, probe.refused], `probe ${probe.when} vs resolving to ${probe.address}`);
        }
      });
    }
  });
}

/** The pipeline's own fixtures (decide.test.ts): explain must reach the same decision on every case. */
interface DecideCase {
  host: string;
  port: number;
  identity?: string;
  resolved?: string[];
  expect: { verdict: string; ruleId: string; refused?: boolean };
}

describe('explain agrees with the pipeline fixtures', () => {
  for (const [file, fixture] of load(FIXTURES) as unknown as Array<[string, Fixture & { cases: DecideCase[] }]>) {
    test(file, () => {
      const policy = compilePolicy(specOf(fixture.policy));
      const self = selfStub(fixture.self);
      for (const c of fixture.cases) {
        const host = String(c.host);
        const dest = parseAuthority(host.includes(':') && !host.startsWith('[') ? `[${host}]:${c.port}` : `${host}:${c.port}`);
        const identity = c.identity === undefined ? ANONYMOUS : identityOf(c.identity.includes('://') ? { identity: c.identity } : { user: c.identity });
        const facts: RequestFacts = { dest, identity, method: 'CONNECT' };
        const x = explainDecision(policy, facts, { viaParent: false, self, ...(c.resolved ? { resolved: c.resolved.map(String) } : {}) });
        const label = `${file}: ${host}:${c.port}`;
        assert.equal(x.decision.verdict, c.expect.verdict, label);
        assert.equal(x.decision.ruleId, c.expect.ruleId, label);
        if (c.expect.refused !== undefined) assert.equal(x.refused, c.expect.refused, label);
      }
    });
  }
});

describe('explain inputs', () => {
  test('targets: port 443 by default, URLs, IPv6, and clear errors', () => {
    assert.deepEqual(parseExplainTarget('api.example.com'), { host: 'api.example.com', hostKind: 'name', port: 443 });
    assert.equal(parseExplainTarget('http://x.example/p?q').port, 80);
    assert.deepEqual(parseExplainTarget('[::1]:8443'), { host: '::1', hostKind: 'ipv6', port: 8443 });
    assert.equal(parseExplainTarget('127.1:80').host, '127.0.0.1');
    for (const bad of ['', 'a b:443', 'x.example:99999', 'x.example:http', 'ftp://x.example/']) {
      assert.throws(() => parseExplainTarget(bad), /bad target .*expected HOST\[:PORT\]/, bad);
    }
  });

  test('identity and user are exclusive and not empty', () => {
    assert.deepEqual(identityOf({}), ANONYMOUS);
    assert.equal(identityOf({ identity: 'spiffe://x/y' }).kind, 'certificate');
    assert.equal(identityOf({ user: 'alice' }).kind, 'user');
    assert.throws(() => identityOf({ identity: 'a', user: 'b' }), /not both/);
    assert.throws(() => identityOf({ user: '' }), /empty/);
  });
});
