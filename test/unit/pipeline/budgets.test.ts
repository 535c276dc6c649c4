import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProxyError } from '../../../src/model/errors.js';
import { budgetKey, Budgets } from '../../../src/pipeline/budgets.js';

const refusedWith = (code: string) => (err: unknown) => err instanceof ProxyError && err.code === code;

describe('per-identity budgets', () => {
  test('whose budget: the certificate identity, else the proxy user, else the client address without its port', () => {
    const anon = { kind: 'anonymous' as const, principal: null, attributes: {} };
    assert.equal(budgetKey({ identity: { kind: 'certificate', principal: 'spiffe://c/ns/a/sa/b', attributes: { user: 'alice' } }, client: '10.0.0.1:5' }), 'certificate:spiffe://c/ns/a/sa/b');
    assert.equal(budgetKey({ identity: { kind: 'user', principal: 'alice', attributes: {} }, client: '10.0.0.1:5' }), 'user:alice');
    assert.equal(budgetKey({ identity: anon, client: '10.0.0.1:5' }), 'address:10.0.0.1');
    assert.equal(budgetKey({ identity: anon, client: '[2001:db8::1]:443' }), 'address:2001:db8::1');
    assert.equal(budgetKey({ identity: undefined, client: 'unknown' }), 'address:unknown');
  });

  test('open tunnels: refused at the limit without spending a token, given back on release; requests take no slot', () => {
    const b = new Budgets({ maxTunnels: 2, rate: 0, burst: 1, maxIdentities: 10 });
    const one = b.admit('a', true, 0)!;
    b.admit('a', true, 0);
    assert.throws(() => b.admit('a', true, 0), refusedWith('too_many_tunnels'));
    assert.equal(b.admit('a', false, 0), undefined, 'a plain request is not a tunnel');
    assert.ok(b.admit('b', true, 0), 'another identity has its own budget');
    b.release(one);
    assert.ok(b.admit('a', true, 0));
  });

  test('rate: a bucket of `burst` tokens refilled at `rate` per second', () => {
    const b = new Budgets({ maxTunnels: 0, rate: 2, burst: 3, maxIdentities: 10 });
    for (let i = 0; i < 3; i++) b.admit('a', false, 1000);
    assert.throws(() => b.admit('a', false, 1000), refusedWith('rate_limited'));
    assert.throws(() => b.admit('a', false, 1400), refusedWith('rate_limited'), '0.8 of a token after 400 ms');
    b.admit('a', false, 1500);
    assert.throws(() => b.admit('a', false, 1500), refusedWith('rate_limited'));
    // A long quiet spell refills to the burst, no further.
    for (let i = 0; i < 3; i++) b.admit('a', false, 60_000);
    assert.throws(() => b.admit('a', false, 60_000), refusedWith('rate_limited'));
  });

  test('a client spraying source addresses cannot grow the state past maxIdentities', () => {
    const b = new Budgets({ maxTunnels: 5, rate: 1, burst: 1, maxIdentities: 100 });
    for (let i = 0; i < 10_000; i++) b.admit(`address:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, false, i);
    assert.ok(b.tracked <= 100, `${b.tracked} identities tracked`);
  });

  test('at the cap the least recently seen identity without a tunnel is forgotten; when all hold tunnels a new one is refused', () => {
    const b = new Budgets({ maxTunnels: 5, rate: 0, burst: 1, maxIdentities: 3 });
    const slots = ['a', 'b', 'c'].map((k) => b.admit(k, true, 0)!);
    assert.throws(() => b.admit('d', true, 0), (err: unknown) => refusedWith('too_many_tunnels')(err) && /3 identities at most/.test((err as Error).message));
    assert.equal(b.tracked, 3);
    b.release(slots[1]!);
    assert.ok(b.admit('d', true, 0), 'b held nothing and was forgotten');
    assert.equal(b.tracked, 3);
  });

  test('an identity with no open tunnel and a full bucket is dropped as it comes to the front', () => {
    const b = new Budgets({ maxTunnels: 0, rate: 10, burst: 1, maxIdentities: 100 });
    b.admit('a', false, 0);
    b.admit('b', false, 0);
    assert.equal(b.tracked, 2);
    // A second later both buckets are full again; each admission sheds one idle identity.
    b.admit('c', false, 1000);
    b.admit('c', false, 1100);
    assert.equal(b.tracked, 1);
  });
});
