import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tls from 'node:tls';
import { sessionKey, TlsSessionCache } from '../../../src/inspect/upstream-tls.js';

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

describe('upstream TLS session lifetime and key', () => {
  it('a session is not offered past its lifetime (the DER timeout / ticket lifetime hint), nor past 5 minutes when unreadable', () => {
    let now = 1_000_000;
    const c = new TlsSessionCache(10, () => now);
    // SEQUENCE { INTEGER 1, [2] { INTEGER 90 }, [9] { INTEGER 60 } }: 60 s, the shorter.
    const der = Buffer.from('300d020101a20302015aa90302013c', 'hex');
    c.set('a', der);
    c.set('b', Buffer.from([1]));
    now += 59_000;
    assert.deepEqual(c.get('a'), der);
    now += 2_000;
    assert.equal(c.get('a'), undefined, 'past the 60 s hint');
    assert.deepEqual(c.get('b'), Buffer.from([1]));
    now += 300_000;
    assert.equal(c.get('b'), undefined, 'past the default');
  });

  it('the key separates server names, trust stores and verification', () => {
    const trust = tls.createSecureContext({});
    const other = tls.createSecureContext({});
    const keys = new Set([
      sessionKey('127.0.0.1:443', 'a.test', { trust, insecure: false }),
      sessionKey('127.0.0.1:443', 'b.test', { trust, insecure: false }),
      sessionKey('127.0.0.1:443', undefined, { trust, insecure: false }),
      sessionKey('127.0.0.1:443', 'a.test', { trust: other, insecure: false }),
      sessionKey('127.0.0.1:443', 'a.test', { trust, insecure: true }),
      sessionKey('127.0.0.1:8443', 'a.test', { trust, insecure: false }),
    ]);
    assert.equal(keys.size, 6);
    assert.equal(sessionKey('127.0.0.1:443', 'a.test', { trust, insecure: false }), sessionKey('127.0.0.1:443', 'a.test', { trust, insecure: false }));
  });
});
