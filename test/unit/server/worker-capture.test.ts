import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { FlowStore } from '../../../src/flows/flow-store.js';
import { flowCaptureHook } from '../../../src/inspect/flow-capture.js';
import { recordChannel, tunnelChannel } from '../../../src/model/channels.js';
import { newRecord, type ProxyRecord } from '../../../src/model/record.js';
import { Batcher, bridgeChannels } from '../../../src/server/worker-bridge.js';
import { ipcCaptureHook } from '../../../src/server/worker-capture.js';
import type { Item, ToPrimary } from '../../../src/server/worker-protocol.js';
import { WorkerReplay } from '../../../src/server/worker-replay.js';

/** What the worker would send, as the primary receives it (v8 serialization, which IPC's 'advanced' mode uses). */
function collect(): { batch: Batcher; sent: Array<Extract<ToPrimary, { t: 'batch' }>> } {
  const sent: Array<Extract<ToPrimary, { t: 'batch' }>> = [];
  const batch = new Batcher((m, done) => {
    if (m.t === 'batch') sent.push(deserialize(serialize(m)) as typeof sent[number]);
    done?.();
  });
  return { batch, sent };
}

describe('workers: inspect capture crosses to the primary bounded, and lands in its flow store', () => {
  test('past the capture cap a body chunk travels as its length only; the flow keeps the cap and the real size', () => {
    const { batch, sent } = collect();
    const rids = new WeakMap<ProxyRecord, number>();
    const hook = ipcCaptureHook(batch, rids, 10);
    const record = newRecord('w-test', 'http', '192.0.2.1:1');
    record.method = 'POST';
    const c = hook({ record, scheme: 'https', host: 'h.test', port: 443, target: '/x', httpVersion: '1.1', headers: [['host', 'h.test']], intercepted: true, tls: () => ({ version: 'TLSv1.3' }) });
    for (let i = 0; i < 3; i++) c.requestData(Buffer.alloc(8, 97 + i));
    c.requestEnd();
    c.responseStart(200, 'OK', [['content-type', 'text/plain']]);
    c.responseData(Buffer.from('hello'));
    record.phases.ttfbMs = 12;
    c.responseEnd([]);
    batch.flush();
    const items: Item[] = sent.flatMap((m) => m.items);
    const chunks = items.filter((i) => i[0] === 'xq').map((i) => i[2]);
    assert.ok(Buffer.isBuffer(chunks[0]) && Buffer.isBuffer(chunks[1]), 'under the cap: the bytes');
    assert.equal(chunks[2], 8, 'past the cap: only the count crosses');

    const store = new FlowStore({ maxFlows: 100, maxBytes: 1 << 20, redact: [] });
    const captured = new WeakSet<ProxyRecord>();
    const replay = new WorkerReplay('w-test', 1, flowCaptureHook(store, 10, captured));
    for (const m of sent) replay.batch(m);
    const [flow] = store.list();
    assert.ok(flow);
    assert.equal(flow.state, 'complete');
    assert.equal(flow.request.body.size, 24);
    assert.equal(flow.request.body.captured.toString(), 'aaaaaaaabb');
    assert.equal(flow.request.body.truncated, true);
    assert.equal(flow.response?.body.captured.toString(), 'hello');
    assert.deepEqual(flow.tls, { version: 'TLSv1.3' });
    assert.equal(flow.phases?.ttfbMs, 12, 'phases noted after the start reach the flow');
  });

  test('the record an exchange started from is published as the object the capture hook saw (the store knows it is captured)', () => {
    const { batch, sent } = collect();
    const rids = new WeakMap<ProxyRecord, number>();
    const unbridge = bridgeChannels(batch, 'w-ident', 2, rids);
    const hook = ipcCaptureHook(batch, rids, 100);
    const record = newRecord('w-ident', 'http', '192.0.2.1:1');
    hook({ record, scheme: 'http', host: 'h.test', port: 80, target: 'http://h.test/', httpVersion: '1.1', headers: [], intercepted: false }).fail('connect_refused', 'refused');
    // In separate messages, as when the record ends later: one message would keep the identity by itself.
    batch.flush();
    record.status = 502;
    recordChannel.publish(record);
    unbridge();
    batch.flush();
    const captured = new WeakSet<ProxyRecord>();
    const seen: ProxyRecord[] = [];
    const onRecord = (m: unknown) => void ((m as ProxyRecord).instance === 'w-ident' && seen.push(m as ProxyRecord));
    recordChannel.subscribe(onRecord);
    try {
      const store = new FlowStore({ maxFlows: 100, maxBytes: 1 << 20, redact: [] });
      const replay = new WorkerReplay('w-ident', 2, flowCaptureHook(store, 100, captured));
      for (const m of sent) replay.batch(m);
      assert.equal(seen.length, 1);
      assert.ok(captured.has(seen[0]!), 'the same object');
      assert.equal(seen[0]!.status, 502);
      assert.equal(seen[0]!.worker, 2);
    } finally {
      recordChannel.unsubscribe(onRecord);
    }
  });

  test('a worker that dies takes its open tunnels off the gauge', () => {
    const { batch, sent } = collect();
    batch.tunnel(1);
    batch.tunnel(1);
    batch.tunnel(1);
    batch.tunnel(-1);
    batch.flush();
    assert.equal(sent[0]!.tunnels, 2, 'the net change, one number per batch');
    let open = 0;
    const onTunnel = (m: unknown) => void ((m as { instance: string }).instance === 'w-tun' && (open += (m as { open: boolean }).open ? 1 : -1));
    tunnelChannel.subscribe(onTunnel);
    try {
      const replay = new WorkerReplay('w-tun', 1, undefined);
      replay.batch(sent[0]!);
      assert.equal(open, 2);
      replay.lost();
      assert.equal(open, 0);
    } finally {
      tunnelChannel.unsubscribe(onTunnel);
    }
  });
});
