import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Dispatcher } from 'undici';
import { AddressPools, type PooledTarget } from '../../../src/upstream/address-pools.js';
import { startHttpUpstream, type Upstream } from '../../helpers/upstream.js';

/** One GET over the pooled target, read to its end (the connection is then idle in its pool). */
async function get(t: PooledTarget, path = '/echo'): Promise<number> {
  const res = await t.dispatcher.request({ origin: t.origin, path, method: 'GET' } as Dispatcher.RequestOptions);
  await res.body.text();
  return res.statusCode;
}

describe('AddressPools: whether a kept-alive connection is idle (counted, not pool.stats)', () => {
  let up: Upstream;
  let pools: AddressPools;
  before(async () => {
    up = await startHttpUpstream();
    pools = new AddressPools({ connect: 2000, idle: 5000, keepAlive: 4000 });
  });
  after(async () => {
    await pools.close();
    await up.close();
  });

  it('a connection whose exchange is done is reused; one still in use is not, so the pipeline dials another', async () => {
    const first = await pools.prepare('127.0.0.1', up.port);
    assert.equal(first.reused, false, 'nothing to reuse yet: the pipeline dialled');
    assert.equal(await get(first), 200);
    // Not done yet: the connection is this exchange's, a second request must not count on it.
    const second = await pools.prepare('127.0.0.1', up.port);
    assert.equal(second.reused, false, 'the only connection is still claimed');
    assert.equal(await get(second), 200);
    first.done();
    second.done();
    second.done(); // idempotent: a second call must not free a connection that is not idle
    // The pool ran the second request on the first connection (idle again at its end); the
    // connection dialled for it is parked, not yet the pool's: one connection is counted.
    const third = await pools.prepare('127.0.0.1', up.port);
    assert.equal(third.reused, true, 'an idle kept-alive connection is used');
    const fourth = await pools.prepare('127.0.0.1', up.port);
    assert.equal(fourth.reused, false, 'the pool\'s one connection is claimed: dialled again');
    third.done();
    fourth.done();
  });
});
