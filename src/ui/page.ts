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
  return s.responseSize === null ? '' : String(s.responseSize);
}

function timeText(s: FlowSummary): string {
  return s.durationMs === null ? '' : `${s.durationMs.toFixed(1)} ms`;
}

function rowHtml(s: FlowSummary): string {
  const cells = [s.method, statusText(s), s.host, s.path, sizeText(s), timeText(s)];
  return `<tr data-id="${escapeHtml(s.id)}">${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
}

const STYLE = `
body{font:13px system-ui,sans-serif;margin:1em}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:2px 6px;text-align:left;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:40em}
tbody tr{cursor:pointer}tbody tr:hover{background:#eef}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;word-break:break-all;max-height:30em;overflow:auto}
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
    const status = s.status !== null ? s.status : (s.state === 'error' ? 'error' : '\\u2026');
    const size = s.responseSize === null ? '' : s.responseSize;
    const time = s.durationMs === null ? '' : s.durationMs.toFixed(1) + ' ms';
    for (const c of [s.method, status, s.host, s.path, size, time]) tr.appendChild(el('td', c));
    return tr;
  };
  const find = (id) => [...tbody.children].find((tr) => tr.dataset.id === id);
  const headersText = (h) => (h || []).map(([n, v]) => n + ': ' + v).join('\\n');
  const bodyText = (b) => !b ? '' : (b.utf8 !== null ? b.utf8 : '(binary, ' + b.capturedSize + ' bytes captured; base64)\\n' + b.base64)
    + (b.truncated ? '\\n\\u2026 truncated: ' + b.capturedSize + ' of ' + b.size + ' bytes captured' : '');
  const show = async (id) => {
    const r = await fetch('/api/flows/' + encodeURIComponent(id), { headers: auth });
    if (!r.ok) { detail.replaceChildren(el('p', 'flow ' + id + ': ' + r.status)); return; }
    const f = await r.json();
    const parts = [el('h2', f.method + ' ' + f.url)];
    if (f.error) parts.push(el('p', 'error: ' + f.error.code + ': ' + f.error.message));
    parts.push(el('h3', 'Request'), el('pre', headersText(f.request.headers)), el('pre', bodyText(f.request.body)));
    if (f.response) {
      parts.push(el('h3', 'Response ' + f.response.status + ' ' + f.response.statusText),
        el('pre', headersText(f.response.headers)), el('pre', bodyText(f.response.body)));
    }
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
