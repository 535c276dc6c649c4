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
import { pageScript, runPageScript } from './fake-dom.js';

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

  test('GET /: WebSocket rows stand out and count messages; message data is never in the HTML', async () => {
    const html = await (await fetch(`${base}/`)).text();
    const row = new RegExp(`<tr data-id="${ws.id}" class="ws">.*?</tr>`).exec(html)?.[0] ?? '';
    assert.match(row, /<td>WS · 6 messages<\/td>/);
    assert.match(html, new RegExp(`<tr data-id="${h2.id}"><td>GET</td>`));
    assert.doesNotMatch(html, /alert\("ws"\)/);
  });

  test('the page script renders WebSocket messages as text: <script> in a message stays text', async () => {
    const page = runPageScript(pageScript(await (await fetch(`${base}/`)).text()), base);
    const detail = await page.open(ws.id);
    const text = detail.textContent;
    assert.match(text, /WebSocket · 6 messages \(2 not kept\) · closed 1000 bye/);
    assert.match(text, /Response 101 Switching Protocols · HTTP\/1\.1/);
    // The hostile message is a text node: serialised it is escaped, and no element came of it.
    assert.ok(detail.html.includes('&lt;script&gt;alert(&quot;ws&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(3)&gt;'));
    assert.ok(!detail.html.includes('<script>') && !detail.html.includes('<img'));
    assert.deepEqual(page.created.filter((e) => !['tr', 'td', 'h2', 'h3', 'p', 'pre', 'table'].includes(e.tagName)), []);
    const rows = detail.all().filter((e) => e.tagName === 'tr').map((tr) => tr.children.map((td) => td.textContent));
    assert.equal(rows.length, 4);
    assert.deepEqual(rows[0]?.slice(0, 4), ['→ send', '03:04:05.683', 'text', `${Buffer.byteLength(XSS_MESSAGE)} B`]);
    assert.deepEqual(rows[1], ['← receive', '03:04:05.684', 'binary', '3 B', '(binary, base64) AP9/']);
    assert.deepEqual(rows[2]?.slice(2), ['text', '5000 B (100 kept)', `${'x'.repeat(100)} … truncated`]);
    assert.deepEqual(rows[3]?.slice(2), ['close', '5 B', 'code 1000 bye']);
    assert.equal(detail.all().find((e) => e.tagName === 'td' && e.className === 'receive')?.textContent, '← receive');
  });

  test('the page script shows the HTTP version of an HTTP/2 flow', async () => {
    const page = runPageScript(pageScript(await (await fetch(`${base}/`)).text()), base);
    const text = (await page.open(h2.id)).textContent;
    assert.match(text, /Request · HTTP\/2/);
    assert.match(text, /Response 200 OK · HTTP\/2/);
    assert.doesNotMatch(text, /WebSocket/);
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
