import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mtlsTicketOptions, TicketKeys } from '../../../src/listeners/ticket-keys.js';

describe('TLS session-ticket keys', () => {
  const secret = Buffer.alloc(32, 1);

  it('processes with the same secret derive the same 48 bytes in the same epoch, without talking', () => {
    const now = () => 5 * 3_600_000 + 10;
    const a = new TicketKeys(secret, 3_600_000, now);
    const b = new TicketKeys(Buffer.from(secret), 3_600_000, now);
    assert.equal(a.keys('mtls\0d').length, 48);
    assert.deepEqual(a.keys('mtls\0d'), b.keys('mtls\0d'));
    assert.equal(a.epoch(), 5);
  });

  it('keys differ by epoch, scope and secret (a new period, a reloaded TLS material, another host)', () => {
    const k = new TicketKeys(secret);
    const seen = new Set([k.keys('a', 1), k.keys('a', 2), k.keys('b', 1), new TicketKeys(Buffer.alloc(32, 2)).keys('a', 1)].map((b) => b.toString('hex')));
    assert.equal(seen.size, 4);
    const a = mtlsTicketOptions(k, 'a'.repeat(64));
    const b = mtlsTicketOptions(k, 'b'.repeat(64));
    assert.notDeepEqual(a.ticketKeys, b.ticketKeys);
    assert.notEqual(a.sessionIdContext, b.sessionIdContext);
    assert.ok(a.sessionIdContext.length <= 32, 'OpenSSL takes at most 32 bytes of session id context');
  });

  it('a random secret per process when none is given; a short secret is refused', () => {
    assert.notDeepEqual(new TicketKeys().keys('a', 1), new TicketKeys().keys('a', 1));
    assert.throws(() => new TicketKeys(Buffer.alloc(16)), /at least 32 bytes/);
  });

  it('rotate() fires at the epoch boundary, once per epoch', async () => {
    const t = 1_000_000 * 100 + 90; // 10 ms before the 100 ms period's boundary
    const start = Date.now();
    const k = new TicketKeys(secret, 100, () => t + (Date.now() - start));
    let fired = 0;
    const r = k.rotate(() => fired++);
    await new Promise((resolve) => setTimeout(resolve, 260));
    r.stop();
    assert.ok(fired >= 2 && fired <= 3, `fired ${fired} times over ~2.6 periods`);
  });
});
