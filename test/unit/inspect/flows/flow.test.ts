import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BodyCapture, bodyAsUtf8, flowPath, flowProtocol, flowUrl, headerValue, newFlowId } from '../../../../src/flows/flow.js';
import { makeFlow } from './make-flow.js';

describe('BodyCapture', () => {
  test('keeps everything under the cap', () => {
    const c = new BodyCapture(10);
    c.push(Buffer.from('abc'));
    c.push(Buffer.from('def'));
    assert.deepEqual(c.result(), { size: 6, captured: Buffer.from('abcdef'), truncated: false });
  });

  test('exactly at the cap is not truncated', () => {
    const c = new BodyCapture(4);
    c.push(Buffer.from('abcd'));
    assert.equal(c.result().truncated, false);
    c.push(Buffer.alloc(0));
    assert.equal(c.result().truncated, false);
  });

  test('keeps the first bytes and counts the rest', () => {
    const c = new BodyCapture(5);
    c.push(Buffer.from('abc'));
    c.push(Buffer.from('defgh'));
    c.push(Buffer.alloc(1_000_000));
    const r = c.result();
    assert.equal(r.size, 1_000_008);
    assert.equal(r.captured.toString(), 'abcde');
    assert.equal(r.truncated, true);
  });

  test('copies: never pins the caller chunk', () => {
    const c = new BodyCapture(2);
    const chunk = Buffer.alloc(64 * 1024, 1);
    c.push(chunk);
    const r = c.result();
    assert.equal(r.captured.length, 2);
    chunk.fill(9);
    assert.deepEqual([...r.captured], [1, 1]);
  });

  test('a zero cap counts only', () => {
    const c = new BodyCapture(0);
    c.push(Buffer.from('xyz'));
    assert.deepEqual(c.result(), { size: 3, captured: Buffer.alloc(0), truncated: true });
  });

  test('empty body', () => {
    assert.deepEqual(new BodyCapture(8).result(), { size: 0, captured: Buffer.alloc(0), truncated: false });
  });

  test('rejects a bad cap', () => {
    assert.throws(() => new BodyCapture(-1), RangeError);
    assert.throws(() => new BodyCapture(1.5), RangeError);
  });
});

describe('bodyAsUtf8', () => {
  const cases: Array<[name: string, bytes: Buffer, truncated: boolean, expected: string | null]> = [
    ['ascii', Buffer.from('hello'), false, 'hello'],
    ['multi-byte', Buffer.from('grüße €'), false, 'grüße €'],
    ['invalid', Buffer.from([0xff, 0xfe, 0x41]), false, null],
    ['NUL is binary', Buffer.from([0x41, 0x00, 0x42]), false, null],
    ['cut inside a character, truncated', Buffer.from('ab€').subarray(0, 4), true, 'ab'],
    ['cut inside a character, not truncated', Buffer.from('ab€').subarray(0, 4), false, null],
    ['empty', Buffer.alloc(0), false, ''],
  ];
  for (const [name, bytes, truncated, expected] of cases) {
    test(name, () => assert.equal(bodyAsUtf8({ size: bytes.length + (truncated ? 10 : 0), captured: bytes, truncated }), expected));
  }
});

describe('flow helpers', () => {
  test('flowProtocol: h2 for the engine\'s "HTTP/2" (and "2", "2.0"), h1 otherwise, ws and tunnel by kind', () => {
    for (const v of ['HTTP/2', '2', '2.0']) assert.equal(flowProtocol(makeFlow({ httpVersion: v })), 'h2', v);
    for (const v of ['HTTP/1.1', '1.1', 'HTTP/1.0']) assert.equal(flowProtocol(makeFlow({ httpVersion: v })), 'h1', v);
    const tunnel = makeFlow();
    tunnel.kind = 'tunnel';
    assert.equal(flowProtocol(tunnel), 'tunnel');
  });

  test('ids are short and distinct', () => {
    const ids = new Set(Array.from({ length: 1000 }, newFlowId));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{8}$/);
  });

  test('flowUrl rebuilds origin-form targets', () => {
    assert.equal(flowUrl(makeFlow({ url: '/a?b=c' })), 'https://api.example.com/a?b=c');
    assert.equal(flowUrl(makeFlow({ url: '/a', port: 8443 })), 'https://api.example.com:8443/a');
    assert.equal(flowUrl(makeFlow({ url: '/', host: '2001:db8::1' })), 'https://[2001:db8::1]/');
    assert.equal(flowUrl(makeFlow({ scheme: 'http', url: 'http://h.example/x' })), 'http://h.example/x');
  });

  test('flowPath', () => {
    assert.equal(flowPath(makeFlow({ url: '/a?b=c' })), '/a?b=c');
    assert.equal(flowPath(makeFlow({ scheme: 'http', url: 'http://h.example/x?y' })), '/x?y');
  });

  test('headerValue is case-insensitive and returns the first', () => {
    assert.equal(headerValue([['X-A', '1'], ['x-a', '2']], 'x-A'), '1');
    assert.equal(headerValue([], 'x'), undefined);
  });
});
