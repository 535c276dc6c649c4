import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TlsSessionCache } from '../../../src/inspect/upstream-tls.js';

describe('upstream TLS session cache', () => {
  const s = (n: number) => Buffer.from([n]);

  it('keeps the newest session per destination, bounded, the least recently stored out first', () => {
    const c = new TlsSessionCache(2);
    c.set('a:443', s(1));
    c.set('a:443', s(2));
    c.set('b:443', s(3));
    c.set('c:443', s(4));
    assert.equal(c.get('a:443'), undefined);
    assert.deepEqual([c.get('b:443'), c.get('c:443')], [s(3), s(4)]);
  });

  it('a destination that did not resume an offered session is offered none again', () => {
    const c = new TlsSessionCache();
    c.set('h:443', s(1));
    c.outcome('h:443', true, false);
    assert.equal(c.get('h:443'), undefined);
    c.set('h:443', s(2));
    assert.equal(c.get('h:443'), undefined);
  });

  it('resumed or first handshakes keep sessions coming; a failed one drops the session', () => {
    const c = new TlsSessionCache();
    c.outcome('h:443', false, false);
    c.set('h:443', s(1));
    c.outcome('h:443', true, true);
    c.set('h:443', s(2));
    assert.deepEqual(c.get('h:443'), s(2));
    c.delete('h:443');
    assert.equal(c.get('h:443'), undefined);
  });
});
