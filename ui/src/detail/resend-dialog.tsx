import { useState } from 'preact/hooks';
import { send, type FlowDetail } from '../api';

function toBase64(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Parses "Name: value" lines; a line without a colon is an error, blank lines are skipped. */
export function parseHeaderLines(text: string): Array<[string, string]> | string {
  const out: Array<[string, string]> = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':', 1);
    if (colon < 0) return `line ${i + 1}: "Name: value" expected`;
    out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out;
}

/** The request, editable, sent again through the proxy: the answer is a new flow. */
export function ResendDialog({ f, onClose, onSent }: { f: FlowDetail; onClose: () => void; onSent: (id: string | undefined) => void }) {
  const [method, setMethod] = useState(f.method);
  const [url, setUrl] = useState(f.url);
  const [headers, setHeaders] = useState(f.request.headers.map(([n, v]) => `${n}: ${v}`).join('\n'));
  const textBody = f.request.body.utf8 !== null && !f.request.body.truncated;
  const [body, setBody] = useState(textBody ? (f.request.body.utf8 ?? '') : '');
  const [result, setResult] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const list = parseHeaderLines(headers);
    if (typeof list === 'string') return setResult(list);
    setBusy(true);
    setResult(undefined);
    try {
      const payload: Record<string, unknown> = { method, url, headers: list };
      if (textBody) payload.bodyBase64 = toBase64(body);
      const r = await send<{ status: number; flowId?: string }>('POST', `api/flows/${encodeURIComponent(f.id)}/resend`, payload);
      setResult(`Sent: the proxy answered ${r?.status ?? '?'}${r?.flowId ? '' : ' (the new flow is in the list)'}`);
      onSent(r?.flowId);
    } catch (err) {
      setResult((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="resend" onSubmit={submit} aria-label="resend">
      <div class="resend-line">
        <input aria-label="method" class="method" value={method} onInput={(e) => setMethod((e.currentTarget as HTMLInputElement).value)} />
        <input aria-label="url" class="url" value={url} onInput={(e) => setUrl((e.currentTarget as HTMLInputElement).value)} />
      </div>
      <label>
        Headers (one "Name: value" a line; Host, Content-Length and hop-by-hop fields are set by the proxy client)
        <textarea aria-label="headers" rows={Math.min(12, headers.split('\n').length + 1)} value={headers} onInput={(e) => setHeaders((e.currentTarget as HTMLTextAreaElement).value)} />
      </label>
      {textBody ? (
        <label>
          Body
          <textarea aria-label="body" rows={6} value={body} onInput={(e) => setBody((e.currentTarget as HTMLTextAreaElement).value)} />
        </label>
      ) : (
        <p class="muted">{f.request.body.truncated ? 'The captured body was cut: the server refuses to resend less than was sent.' : 'The binary body is sent as captured.'}</p>
      )}
      <div class="actions">
        <button type="submit" disabled={busy}>
          Send through the proxy
        </button>
        <button type="button" class="ghost" onClick={onClose}>
          Cancel
        </button>
        {result && (
          <span class="result" role="status">
            {result}
          </span>
        )}
      </div>
    </form>
  );
}
