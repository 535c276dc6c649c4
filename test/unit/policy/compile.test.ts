import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compilePolicy, PolicyError, type PolicySpec, type RuleSpec } from '../../../src/policy/compile.js';

function spec(rules: RuleSpec[], extra: Partial<PolicySpec> = {}): PolicySpec {
  return { allowPrivate: false, connectPorts: [443, 80], enforcement: 'enforce', rules, ...extra };
}

describe('compilePolicy: errors name the field path', () => {
  const cases: Array<{ name: string; rules: RuleSpec[]; path: string; message: RegExp; prefix?: string }> = [
    {
      name: 'duplicate explicit ids',
      rules: [
        { id: 'same', action: 'allow', hosts: ['a.example'] },
        { id: 'same', action: 'deny', hosts: ['b.example'] },
      ],
      path: 'policy.rules[1].id',
      message: /duplicate rule id "same"/,
    },
    {
      name: 'duplicate further down',
      rules: [
        { id: 'a', action: 'allow', hosts: ['a.example'] },
        { id: 'b', action: 'allow', hosts: ['b.example'] },
        { id: 'a', action: 'deny', hosts: ['c.example'] },
      ],
      path: 'policy.rules[2].id',
      message: /duplicate rule id "a"/,
    },
    {
      name: 'bad wildcard',
      rules: [
        { action: 'allow', hosts: ['a.example'] },
        { action: 'deny', hosts: ['a*b.example'] },
      ],
      path: 'policy.rules[1].hosts[0]',
      message: /a wildcard is only allowed as a leading "\*\."/,
    },
    {
      name: 'bad CIDR in a later position',
      rules: [{ action: 'deny', hosts: ['ok.example', '10.0.0.0/40'] }],
      path: 'policy.rules[0].hosts[1]',
      message: /bad prefix length \(0-32\)/,
    },
    {
      name: 'not a host at all',
      rules: [{ action: 'allow', hosts: ['https://example.com/'] }],
      path: 'policy.rules[0].hosts[0]',
      message: /is not a valid address or CIDR/,
    },
    {
      name: 'no hosts',
      rules: [{ action: 'allow', hosts: [] }],
      path: 'policy.rules[0].hosts',
      message: /at least one host pattern/,
    },
    {
      name: 'a custom path prefix',
      rules: [{ action: 'allow', hosts: ['bad host'] }],
      path: '--allow[0].hosts[0]',
      message: /is not a host pattern/,
      prefix: '--allow',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => (c.prefix === undefined ? compilePolicy(spec(c.rules)) : compilePolicy(spec(c.rules), c.prefix)),
        (err: unknown) => {
          assert.ok(err instanceof PolicyError, `expected a PolicyError, got ${String(err)}`);
          assert.equal(err.name, 'PolicyError');
          assert.equal(err.path, c.path);
          assert.match(err.message, c.message);
          return true;
        },
      );
    });
  }
});

describe('compilePolicy: compiled shape', () => {
  test('ids default to rule-N by position', () => {
    const p = compilePolicy(
      spec([
        { action: 'allow', hosts: ['a.example'] },
        { id: 'named', action: 'allow', hosts: ['b.example'] },
        { action: 'deny', hosts: ['c.example'] },
      ]),
    );
    assert.deepEqual(
      p.rules.map((r) => r.id),
      ['rule-1', 'named', 'rule-3'],
    );
  });

  test('patterns split into names and addresses; "*" goes to both', () => {
    const [r] = compilePolicy(spec([{ action: 'allow', hosts: ['a.example', '*.b.example', '10.0.0.0/8', '::1', '*'] }])).rules;
    assert.ok(r);
    assert.deepEqual(
      r.names.map((p) => p.kind),
      ['exact', 'suffix', 'any'],
    );
    assert.deepEqual(
      r.addresses.map((p) => p.kind),
      ['cidr', 'cidr', 'any'],
    );
  });

  test('rule enforcement inherits the policy default unless set', () => {
    const p = compilePolicy(
      spec(
        [
          { id: 'inherit', action: 'deny', hosts: ['a.example'] },
          { id: 'own', action: 'deny', hosts: ['b.example'], enforcement: 'enforce' },
        ],
        { enforcement: 'report' },
      ),
    );
    assert.deepEqual(
      p.rules.map((r) => [r.id, r.enforcement]),
      [
        ['inherit', 'report'],
        ['own', 'enforce'],
      ],
    );
    assert.equal(p.enforcement, 'report');
  });

  test('ports, identities and describe', () => {
    const [r] = compilePolicy(
      spec([{ id: 'x', action: 'allow', hosts: ['*.stripe.com'], ports: [443], identities: ['spiffe://cluster.local/ns/payments/sa/*'] }]),
    ).rules;
    assert.ok(r);
    assert.deepEqual(r.ports, new Set([443]));
    assert.ok(r.identity);
    assert.equal(r.identity('spiffe://cluster.local/ns/payments/sa/api'), true);
    assert.equal(r.identity('spiffe://cluster.local/ns/web/sa/api'), false);
    assert.equal(r.describe, 'allow *.stripe.com ports 443 for spiffe://cluster.local/ns/payments/sa/*');
  });

  test('a rule without ports or identities has neither', () => {
    const [r] = compilePolicy(spec([{ action: 'deny', hosts: ['a.example', 'b.example'] }])).rules;
    assert.ok(r);
    assert.equal(r.ports, undefined);
    assert.equal(r.identity, undefined);
    assert.equal(r.describe, 'deny a.example, b.example');
  });

  const defaults: Array<{ name: string; rules: RuleSpec[]; default?: 'allow' | 'deny'; verdict: 'allow' | 'deny'; why: RegExp }> = [
    { name: 'no rules', rules: [], verdict: 'allow', why: /no allow rules are set/ },
    { name: 'only deny rules', rules: [{ action: 'deny', hosts: ['a.example'] }], verdict: 'allow', why: /no allow rules/ },
    { name: 'an allow rule', rules: [{ action: 'allow', hosts: ['a.example'] }], verdict: 'deny', why: /allow-list mode/ },
    { name: 'explicit allow', rules: [{ action: 'allow', hosts: ['a.example'] }], default: 'allow', verdict: 'allow', why: /policy\.default is allow/ },
    { name: 'explicit deny', rules: [], default: 'deny', verdict: 'deny', why: /policy\.default is deny/ },
  ];
  for (const c of defaults) {
    test(`default verdict: ${c.name} -> ${c.verdict}`, () => {
      const p = compilePolicy(spec(c.rules, { default: c.default }));
      assert.equal(p.defaultVerdict, c.verdict);
      assert.match(p.defaultWhy, c.why);
    });
  }

  test('connectPorts become a set; allowPrivate is carried', () => {
    const p = compilePolicy(spec([], { connectPorts: [443, 8443, 443], allowPrivate: true }));
    assert.deepEqual(p.connectPorts, new Set([443, 8443]));
    assert.equal(p.allowPrivate, true);
  });
});
