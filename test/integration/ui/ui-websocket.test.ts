import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FlowStore } from '../../../src/flows/flow-store.js';
import type { Har } from '../../../src/flows/har.js';
import type { FlowDetail, FlowSummary } from '../../../src/ui/flow-json.js';
import { createUiServer } from '../../../src/ui/ui-server.js';
import { harErrors } from '../../unit/inspect/flows/har-validate.js';
import { body, makeFlow, makeWebSocketFlow, wsMessage } from '../../unit/inspect/flows/make-flow.js';

const XSS_MESSAGE = '<script>alert("ws")</script><img src=x onerror=alert(3)>';

describe('inspect UI server: WebSocket and HTTP/2 flows', () => {
  const store = new FlowStore();
  const ws = makeWebSocketFlow(
    [
      wsMessage('send', 1, XSS_MESSAGE, 5),
      wsMessage('receive', 2, Buffer.from([0x00, 0xff, 0x7f]), 6),
      wsMessage('receive', 1, body('x'.repeat(5000), 100), 7),
      wsMessage('receive', 8, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]), 8),
    ],
    { droppedMessages: 2 },
  );
  const h2 = makeFlow({ host: 'h2.example', httpVersion: 'HTTP/2', requestHeaders: [['user-agent', 'curl/8']] });
  let server: Server;
  let base = '';

  before(async () => {
    store.add(h2);
    store.add(ws);
    server = createUiServer({ store, caCertPem: 'x', version: '0.0.0-test' });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  });

  const getJson = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 200, path);
    return (await res.json()) as T;
  };

  test('GET /api/flows: a WebSocket flow says so, with its message count and no data', async () => {
    const { flows } = await getJson<{ flows: FlowSummary[] }>('/api/flows');
    const s = flows.find((f) => f.id === ws.id);
    assert.deepEqual(s?.websocket, { messages: 6, closed: true });
    assert.equal(s?.status, 101);
    assert.equal(flows.find((f) => f.id === h2.id)?.websocket, null);
    assert.doesNotMatch(JSON.stringify(flows), /alert/);
  });

  test('GET /api/flows/:id: the messages, base64 and UTF-8, with the close and drop facts', async () => {
    const d = await getJson<FlowDetail>(`/api/flows/${ws.id}`);
    assert.ok(d.websocket);
    assert.equal(d.websocket.messages.length, 4);
    const [text, bin, cut, close] = d.websocket.messages;
    assert.deepEqual([text?.direction, text?.opcode, text?.at, text?.data.utf8], ['send', 1, ws.websocket!.messages[0]!.at, XSS_MESSAGE]);
    assert.deepEqual([bin?.direction, bin?.opcode, bin?.data.utf8, bin?.data.base64], ['receive', 2, null, 'AP9/']);
    assert.deepEqual([cut?.data.size, cut?.data.capturedSize, cut?.data.truncated], [5000, 100, true]);
    assert.equal(close?.opcode, 8);
    assert.deepEqual([d.websocket.droppedMessages, d.websocket.closeCode, d.websocket.closeReason, d.websocket.captureError], [2, 1000, 'bye', null]);
    const h = await getJson<FlowDetail>(`/api/flows/${h2.id}`);
    assert.deepEqual([h.request.httpVersion, h.response?.httpVersion, h.websocket], ['HTTP/2', 'HTTP/2', null]);
  });

  test('GET /api/flows.har validates against the HAR schema, WebSocket entry as Chrome writes it', async () => {
    const har = await getJson<Har>('/api/flows.har');
    assert.deepEqual(harErrors(har), []);
    const e = har.log.entries.find((x) => x._egresskit.id === ws.id);
    assert.equal(e?._resourceType, 'websocket');
    assert.equal(e?.response.status, 101);
    assert.equal(e?.request.url, 'wss://chat.example/socket?room=1');
    assert.deepEqual(
      e?._webSocketMessages?.map((m) => [m.type, m.opcode, m.data]),
      [
        ['send', 1, XSS_MESSAGE],
        ['receive', 2, 'AP9/'],
        ['receive', 1, 'x'.repeat(100)],
        ['receive', 8, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]).toString('base64')],
      ],
    );
    assert.equal(har.log.entries.find((x) => x._egresskit.id === h2.id)?.request.httpVersion, 'HTTP/2');
  });

  test('GET /api/events: a new message on an open WebSocket streams its new count', async () => {
    const live = makeWebSocketFlow([]);
    live.state = 'open';
    store.add(live);
    const ac = new AbortController();
    const res = await fetch(`${base}/api/events`, { signal: ac.signal });
    try {
      assert.ok(res.body);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes('\n\n')) text += decoder.decode((await reader.read()).value, { stream: true });
      live.websocket!.messages.push(wsMessage('receive', 1, 'tick', 50));
      store.update(live);
      const deadline = setTimeout(() => ac.abort(), 2000);
      let seen: FlowSummary | undefined;
      while (!seen) {
        text += decoder.decode((await reader.read()).value, { stream: true });
        for (const m of text.matchAll(/^data: (.*)$/gm)) {
          const ev = JSON.parse(m[1]!) as { type: string; flow?: FlowSummary };
          if (ev.type === 'update' && ev.flow?.id === live.id) seen = ev.flow;
        }
      }
      clearTimeout(deadline);
      assert.deepEqual(seen?.websocket, { messages: 1, closed: false });
    } finally {
      ac.abort();
    }
  });
});
