import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { ProxyRecord } from '../../src/index.js';
import { readUntil, statusOf } from './raw.js';

/**
 * Shared by the tests of the two ports that read CONNECT heads themselves (head-reader.ts): the
 * plain front and the mtls listener.
 */

/** The next record of this kind (tunnels of the tests before may still be closing). */
export async function nextRecord(records: AsyncIterableIterator<ProxyRecord>, kind: ProxyRecord['kind']): Promise<ProxyRecord> {
  for (;;) {
    const r = (await records.next()).value as ProxyRecord;
    if (r.kind === kind) return r;
  }
}

/** A CONNECT head that stops half-way on `s`: 408 once `headersMs` have passed, and a request_timeout record. */
export async function expectHeadTimeout(s: Socket, records: AsyncIterableIterator<ProxyRecord>, headersMs: number): Promise<void> {
  const started = performance.now();
  s.write('CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n');
  try {
    const res = await readUntil(s, '\r\n\r\n', 5000);
    assert.equal(statusOf(res), 408, res);
    assert.ok(performance.now() - started >= headersMs - 50);
  } finally {
    s.destroy();
  }
  const r = await nextRecord(records, 'client_error');
  assert.equal(r.error, 'request_timeout');
}
