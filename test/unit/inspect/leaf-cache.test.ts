import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { before, test } from 'node:test';
import { createCA, createLeafIssuer, type LeafIssuer } from '../../../src/certs/index.js';
import { LeafCache } from '../../../src/inspect/leaf-cache.js';
import { TicketKeys } from '../../../src/listeners/ticket-keys.js';
import { isLoopbackHost } from '../../../src/ui/ui-access.js';

let issuer: LeafIssuer;
before(async () => {
  const ca = await createCA();
  issuer = createLeafIssuer(ca.cert, createPrivateKey(ca.keyPem));
});

test('LeafCache mints once per host and stays within its bound (least recently used goes)', () => {
  const cache = new LeafCache(issuer, 2);
  const a = cache.get('a.example');
  assert.equal(cache.get('a.example'), a);
  cache.get('b.example');
  cache.get('a.example'); // a is now the most recent
  cache.get('c.example'); // evicts b
  assert.equal(cache.size, 2);
  assert.equal(cache.minted, 3);
  assert.equal(cache.get('a.example'), a);
  cache.get('b.example');
  assert.equal(cache.minted, 4);
  cache.get('203.0.113.9');
  assert.equal(cache.size, 2);
});

test('lookup() says hit or miss; a new ticket-key epoch rebuilds the context with the new keys but keeps the leaf', () => {
  let now = 10_000;
  const cache = new LeafCache(issuer, 4, new TicketKeys(Buffer.alloc(32, 3), 1000, () => now));
  const first = cache.lookup('a.example');
  assert.equal(first.hit, false);
  const again = cache.lookup('a.example');
  assert.equal(again.hit, true);
  assert.equal(again.context, first.context);
  now += 1000;
  const rotated = cache.lookup('a.example');
  assert.equal(rotated.hit, true);
  assert.notEqual(rotated.context, first.context, 'a context with the new epoch\'s ticket keys');
  assert.equal(cache.minted, 1, 'the leaf itself was not minted again');
});

const loopback: Array<[string, boolean]> = [
  ['127.0.0.1', true],
  ['127.5.6.7', true],
  ['::1', true],
  ['[::1]', true],
  ['localhost', true],
  ['0.0.0.0', false],
  ['::', false],
  ['10.0.0.1', false],
  ['ui.example', false],
];
for (const [host, expected] of loopback) {
  test(`isLoopbackHost(${host}) = ${expected}`, () => assert.equal(isLoopbackHost(host), expected));
}
