import type { FlowSummary } from './flow-json.js';

// Everything in a flow (host, path, headers, bodies) comes from untrusted traffic. The server
// escapes what it renders; the script only ever sets textContent, never innerHTML.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function statusText(s: FlowSummary): string {
  if (s.status !== null) return String(s.status);
  return s.state === 'error' ? 'error' : '…';
}

function sizeText(s: FlowSummary): string {
  if (s.websocket) return `WS · ${s.websocket.messages} message${s.websocket.messages === 1 ? '' : 's'}`;
  return s.responseSize === null ? '' : String(s.responseSize);
}

function timeText(s: FlowSummary): string {
  return s.durationMs === null ? '' : `${s.durationMs.toFixed(1)} ms`;
}

function rowHtml(s: FlowSummary): string {
  const cells = [s.method, statusText(s), s.host, s.path, sizeText(s), timeText(s)];
  const cls = s.websocket ? ' class="ws"' : '';
  return `<tr data-id="${escapeHtml(s.id)}"${cls}>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
}

const STYLE = `
body{font:13px system-ui,sans-serif;margin:1em}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:2px 6px;text-align:left;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:40em}
tbody tr{cursor:pointer}tbody tr:hover{background:#eef}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;word-break:break-all;max-height:30em;overflow:auto}
tr.ws td{background:#f3ecff}
table.msgs td{vertical-align:top;font-family:monospace}
table.msgs td:last-child{white-space:pre-wrap;word-break:break-all;width:100%}
td.send{color:#064}td.receive{color:#036}
`;

// Kept in sync with rowHtml above. Runs in the page; the token (if any) comes from ?token=.
const SCRIPT = `
(() => {
  const token = new URLSearchParams(location.search).get('token');
  const q = token ? '?token=' + encodeURIComponent(token) : '';
  const auth = token ? { authorization: 'Bearer ' + token } : {};
  const tbody = document.getElementById('flows');
  const detail = document.getElementById('detail');
  for (const a of document.querySelectorAll('a[data-api]')) a.href = a.getAttribute('data-api') + q;
  const el = (tag, text) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); return e; };
  const row = (s) => {
    const tr = el('tr'); tr.dataset.id = s.id;
    if (s.websocket) tr.className = 'ws';
    const status = s.status !== null ? s.status : (s.state === 'error' ? 'error' : '\\u2026');
    const size = s.websocket ? 'WS \\u00b7 ' + s.websocket.messages + ' message' + (s.websocket.messages === 1 ? '' : 's')
      : (s.responseSize === null ? '' : s.responseSize);
    const time = s.durationMs === null ? '' : s.durationMs.toFixed(1) + ' ms';
    for (const c of [s.method, status, s.host, s.path, size, time]) tr.appendChild(el('td', c));
    return tr;
  };
  const find = (id) => [...tbody.children].find((tr) => tr.dataset.id === id);
  const headersText = (h) => (h || []).map(([n, v]) => n + ': ' + v).join('\\n');
  const bodyText = (b) => !b ? '' : (b.utf8 !== null ? b.utf8 : '(binary, ' + b.capturedSize + ' bytes captured; base64)\\n' + b.base64)
    + (b.truncated ? '\\n\\u2026 truncated: ' + b.capturedSize + ' of ' + b.size + ' bytes captured' : '');
  // The engine records "HTTP/1.1", "HTTP/2"; a bare "1.1" gets its prefix.
  const version = (v) => (/^\\d/.test(v) ? 'HTTP/' + v : v);
  const OPCODES = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };
  const PREVIEW = 2000;
  const bytesOf = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const preview = (m) => {
    const d = m.data;
    if (m.opcode === 8 && d.capturedSize >= 2) {
      const b = bytesOf(d.base64);
      return 'code ' + (b[0] * 256 + b[1]) + ' ' + new TextDecoder().decode(b.subarray(2));
    }
    const t = d.utf8 !== null ? d.utf8 : '(binary, base64) ' + d.base64;
    return (t.length > PREVIEW ? t.slice(0, PREVIEW) + '\\u2026' : t) + (d.truncated ? ' \\u2026 truncated' : '');
  };
  const messageRow = (m) => {
    const tr = el('tr');
    const dir = el('td', m.direction === 'send' ? '\\u2192 send' : '\\u2190 receive'); dir.className = m.direction;
    const size = m.data.size + ' B' + (m.data.truncated ? ' (' + m.data.capturedSize + ' kept)' : '');
    const at = Number.isFinite(m.at) ? new Date(m.at).toISOString().slice(11, 23) : '';
    tr.append(dir, el('td', at), el('td', OPCODES[m.opcode] || 'opcode ' + m.opcode), el('td', size), el('td', preview(m)));
    return tr;
  };
  const wsParts = (ws) => {
    const kept = ws.messages.length;
    let head = 'WebSocket \\u00b7 ' + (kept + ws.droppedMessages) + ' messages';
    if (ws.droppedMessages > 0) head += ' (' + ws.droppedMessages + ' not kept)';
    if (ws.closeCode !== null) head += ' \\u00b7 closed ' + ws.closeCode + (ws.closeReason ? ' ' + ws.closeReason : '');
    const parts = [el('h3', head)];
    if (ws.captureError) parts.push(el('p', 'capture stopped: ' + ws.captureError + ' (frames were still relayed)'));
    const table = el('table'); table.className = 'msgs';
    for (const m of ws.messages) table.appendChild(messageRow(m));
    parts.push(table);
    return parts;
  };
  const show = async (id) => {
    const r = await fetch('/api/flows/' + encodeURIComponent(id), { headers: auth });
    if (!r.ok) { detail.replaceChildren(el('p', 'flow ' + id + ': ' + r.status)); return; }
    const f = await r.json();
    const parts = [el('h2', f.method + ' ' + f.url)];
    if (f.error) parts.push(el('p', 'error: ' + f.error.code + ': ' + f.error.message));
    parts.push(el('h3', 'Request \\u00b7 ' + version(f.request.httpVersion)), el('pre', headersText(f.request.headers)), el('pre', bodyText(f.request.body)));
    if (f.response) {
      parts.push(el('h3', 'Response ' + f.response.status + ' ' + f.response.statusText + ' \\u00b7 ' + version(f.response.httpVersion)),
        el('pre', headersText(f.response.headers)), el('pre', bodyText(f.response.body)));
    }
    if (f.websocket) parts.push(...wsParts(f.websocket));
    detail.replaceChildren(...parts);
  };
  tbody.addEventListener('click', (e) => { const tr = e.target.closest('tr'); if (tr) show(tr.dataset.id); });
  document.getElementById('clear').addEventListener('click', () => fetch('/api/flows', { method: 'DELETE', headers: auth }));
  const es = new EventSource('/api/events' + q);
  es.addEventListener('flow', (e) => {
    const m = JSON.parse(e.data);
    if (m.type === 'clear') { tbody.replaceChildren(); return; }
    if (m.type === 'evict') { find(m.id)?.remove(); return; }
    const old = find(m.flow.id);
    if (old) old.replaceWith(row(m.flow)); else tbody.prepend(row(m.flow));
  });
})();
`;

export function renderPage(flows: FlowSummary[], version: string, nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>egresskit inspect</title>
<meta name="referrer" content="no-referrer">
<style nonce="${nonce}">${STYLE}</style></head>
<body>
<h1>egresskit inspect <small>${escapeHtml(version)}</small></h1>
<p><a data-api="/ca.crt" href="/ca.crt">CA certificate</a> · <a data-api="/api/flows.har" href="/api/flows.har">HAR export</a> · <button id="clear" type="button">Clear</button></p>
<table><thead><tr><th>method</th><th>status</th><th>host</th><th>path</th><th>size</th><th>time</th></tr></thead>
<tbody id="flows">${flows.map(rowHtml).join('\n')}</tbody></table>
<div id="detail"></div>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>
`;
}
