import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FlowStore, REDACTED, type FlowEvent } from '../../../../src/flows/flow-store.js';
import type { Flow } from '../../../../src/flows/flow.js';
import { body, makeFlow } from './make-flow.js';

function events(store: FlowStore): { flow: FlowEvent[]; evicted: string[] } {
  const out = { flow: [] as FlowEvent[], evicted: [] as string[] };
  store.on('flow', (e: FlowEvent) => out.flow.push(e));
  store.on('evict', (f: Flow) => out.evicted.push(f.id));
  return out;
}

describe('FlowStore', () => {
  test('delete removes one flow, gives its bytes back and emits delete with the flow', () => {
    const store = new FlowStore();
    const seen = events(store);
    const a = makeFlow({ responseBody: body('abcd') });
    const b = makeFlow();
    store.add(a);
    store.add(b);
    const bytes = store.bytes;
    assert.equal(store.delete(a.id), true);
    assert.equal(store.get(a.id), undefined);
    assert.equal(store.size, 1);
    assert.equal(store.bytes, bytes - 4);
    assert.deepEqual(seen.flow.map((e) => [e.type, e.flow?.id]).slice(-1), [['delete', a.id]]);
    assert.equal(store.delete(a.id), false, 'a second delete finds nothing');
    assert.deepEqual(store.list().map((f) => f.id), [b.id]);
  });

  test('add, get, size, bytes', () => {
    const store = new FlowStore();
    const f = makeFlow({ requestBody: body('12345'), responseBody: body('abc') });
    store.add(f);
    assert.equal(store.get(f.id), f);
    assert.equal(store.size, 1);
    assert.equal(store.bytes, 8);
    assert.equal(store.get('nope'), undefined);
  });

  test('evicts the oldest by count', () => {
    const store = new FlowStore({ maxFlows: 3 });
    const ev = events(store);
    const flows = Array.from({ length: 5 }, () => makeFlow());
    for (const f of flows) store.add(f);
    assert.equal(store.size, 3);
    assert.deepEqual(store.list().map((f) => f.id), [flows[4]!.id, flows[3]!.id, flows[2]!.id]);
    assert.deepEqual(ev.evicted, [flows[0]!.id, flows[1]!.id]);
  });

  test('evicts the oldest by captured bytes', () => {
    const store = new FlowStore({ maxBytes: 100 });
    const flows = Array.from({ length: 5 }, () => makeFlow({ responseBody: body(Buffer.alloc(30)) }));
    for (const f of flows) store.add(f);
    assert.equal(store.size, 3);
    assert.equal(store.bytes, 90);
    assert.equal(store.get(flows[1]!.id), undefined);
    assert.ok(store.get(flows[2]!.id));
  });

  test('bytes follow updates; growth evicts older flows; a flow larger than the limit goes too', () => {
    const store = new FlowStore({ maxBytes: 100 });
    const a = makeFlow({ responseBody: body(Buffer.alloc(40)) });
    const b = makeFlow({ status: null });
    store.add(a);
    store.add(b);
    assert.equal(store.bytes, 40);
    b.response = { status: 200, statusText: 'OK', httpVersion: '1.1', headers: [], body: body(Buffer.alloc(70)) };
    assert.equal(store.update(b), true);
    assert.equal(store.get(a.id), undefined);
    assert.equal(store.bytes, 70);
    b.response.body = body(Buffer.alloc(150));
    assert.equal(store.update(b), false);
    assert.equal(store.size, 0);
    assert.equal(store.bytes, 0);
    // An evicted flow stays evicted.
    assert.equal(store.update(b), false);
    assert.equal(store.size, 0);
  });

  test('emits add, update and clear', () => {
    const store = new FlowStore();
    const ev = events(store);
    const f = makeFlow({ status: null });
    store.add(f);
    f.state = 'complete';
    store.update(f);
    store.clear();
    assert.deepEqual(ev.flow.map((e) => e.type), ['add', 'update', 'clear']);
    assert.equal(ev.flow[0]!.flow, f);
    assert.equal(ev.flow[2]!.flow, undefined);
    assert.equal(store.size, 0);
    assert.equal(store.bytes, 0);
  });

  test('adding the same flow twice is an update', () => {
    const store = new FlowStore();
    const ev = events(store);
    const f = makeFlow();
    store.add(f);
    store.add(f);
    assert.equal(store.size, 1);
    assert.deepEqual(ev.flow.map((e) => e.type), ['add', 'update']);
  });

  test('redacts configured headers, any case, on add and update, without touching the original arrays', () => {
    const store = new FlowStore({ redact: ['Authorization', 'cookie', 'SET-COOKIE'] });
    const reqHeaders: Array<[string, string]> = [['authorization', 'Bearer s3cret'], ['Cookie', 'sid=1'], ['Accept', '*/*']];
    const f = makeFlow({ status: null, requestHeaders: reqHeaders });
    store.add(f);
    assert.deepEqual(store.get(f.id)!.request.headers, [['authorization', REDACTED], ['Cookie', REDACTED], ['Accept', '*/*']]);
    assert.equal(reqHeaders[0]![1], 'Bearer s3cret');
    f.response = {
      status: 200, statusText: 'OK', httpVersion: '1.1',
      headers: [['Set-Cookie', 'a=1'], ['set-cookie', 'b=2'], ['Content-Type', 'text/plain']],
      body: body('x'), trailers: [['authorization', 't']],
    };
    store.update(f);
    assert.deepEqual(f.response.headers, [['Set-Cookie', REDACTED], ['set-cookie', REDACTED], ['Content-Type', 'text/plain']]);
    assert.deepEqual(f.response.trailers, [['authorization', REDACTED]]);
  });

  test('no redaction configured leaves headers as they are', () => {
    const store = new FlowStore();
    const f = makeFlow({ requestHeaders: [['Authorization', 'Basic x']] });
    store.add(f);
    assert.deepEqual(f.request.headers, [['Authorization', 'Basic x']]);
  });

  test('restore fills an empty store in the given order, silently, redacted and within bounds', () => {
    const store = new FlowStore({ maxFlows: 2, redact: ['authorization'] });
    const ev = events(store);
    const flows = [makeFlow(), makeFlow(), makeFlow({ requestHeaders: [['Authorization', 'Bearer old']] })];
    store.restore(flows);
    assert.deepEqual(ev.flow, []);
    assert.deepEqual(ev.evicted, [flows[0]!.id]);
    assert.deepEqual(store.list().map((f) => f.id), [flows[2]!.id, flows[1]!.id]);
    assert.deepEqual(store.get(flows[2]!.id)!.request.headers, [['Authorization', REDACTED]]);
    const next = makeFlow();
    store.add(next);
    assert.deepEqual(store.list().map((f) => f.id), [next.id, flows[2]!.id]);
    assert.throws(() => store.restore([makeFlow()]), /empty store/);
  });

  describe('list', () => {
    const store = new FlowStore();
    const a = makeFlow({ host: 'api.github.com', method: 'GET', status: 200 });
    const b = makeFlow({ host: 'uploads.github.com', method: 'POST', status: 201, requestHeaders: [['X-Trace', 'Needle-42']] });
    const c = makeFlow({ host: 'example.org', scheme: 'http', method: 'get', status: 404, url: 'http://example.org/missing/thing' });
    const d = makeFlow({ host: 'down.example', status: null, error: { code: 'connection_refused', message: 'refused' } });
    for (const f of [a, b, c, d]) store.add(f);
    const ids = (q: Parameters<FlowStore['list']>[0]): string[] => store.list(q).map((f) => f.id);

    const cases: Array<[name: string, query: Parameters<FlowStore['list']>[0], expected: Flow[]]> = [
      ['all, newest first', {}, [d, c, b, a]],
      ['host substring, any case', { host: 'GitHub' }, [b, a]],
      ['method, any case', { method: 'get' }, [d, c, a]],
      ['exact status number', { status: 404 }, [c]],
      ['exact status string', { status: '201' }, [b]],
      ['status class', { status: '2xx' }, [b, a]],
      ['errors', { status: 'error' }, [d]],
      ['search in url', { search: 'MISSING' }, [c]],
      ['search in header values', { search: 'needle-42' }, [b]],
      ['limit', { limit: 2 }, [d, c]],
      ['limit 0', { limit: 0 }, []],
      ['sinceId', { sinceId: b.id }, [d, c]],
      ['sinceId unknown gives all', { sinceId: 'zzzz' }, [d, c, b, a]],
      ['combined', { host: 'github', status: '2xx', method: 'POST' }, [b]],
    ];
    for (const [name, query, expected] of cases) {
      test(name, () => assert.deepEqual(ids(query), expected.map((f) => f.id)));
    }
  });

  test('rejects bad limits', () => {
    assert.throws(() => new FlowStore({ maxFlows: 0 }), RangeError);
    assert.throws(() => new FlowStore({ maxBytes: -1 }), RangeError);
  });
});
