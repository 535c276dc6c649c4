import { useEffect, useState } from 'preact/hooks';
import { getJson, getText, send, type FlowDetail, type FlowSummary } from '../api';
import { markers, origin } from '../format';
import { BodyView } from './body-view';
import { copyText } from './copy';
import { HeadersTable } from './headers-table';
import { PolicyTab, TimingTab, TlsTab, WebSocketTab } from './info-tabs';
import { ResendDialog } from './resend-dialog';

const TABS = ['Request', 'Response', 'Timing', 'TLS', 'WebSocket', 'Policy'] as const;
type Tab = (typeof TABS)[number];

interface Props {
  id: string;
  /** The list's summary of the flow: a new one (an update) reloads the detail. */
  summary: FlowSummary | undefined;
  onClose: () => void;
  onOpen: (id: string) => void;
}

export function DetailPane({ id, summary, onClose, onOpen }: Props) {
  const [f, setF] = useState<FlowDetail | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [tab, setTab] = useState<Tab>('Response');
  const [copied, setCopied] = useState<{ label: string; text: string; ok: boolean } | undefined>();
  const [resend, setResend] = useState(false);
  const version = `${summary?.state}:${summary?.status}:${summary?.responseSize}:${summary?.websocket?.messages}`;

  useEffect(() => {
    setError(undefined);
    getJson<FlowDetail>(`api/flows/${encodeURIComponent(id)}`).then(setF, (e: Error) => {
      setF(undefined);
      setError(e.message);
    });
  }, [id, version]);
  useEffect(() => {
    setCopied(undefined);
    setResend(false);
  }, [id]);

  if (error) return <aside class="detail"><p class="muted">{error}</p><button type="button" onClick={onClose}>Close</button></aside>;
  if (!f || f.id !== id) return <aside class="detail"><p class="muted">Loading…</p></aside>;

  const copy = async (label: string, url: string) => {
    try {
      const text = await getText(url);
      setCopied({ label, text, ok: await copyText(text) });
    } catch (e) {
      setCopied({ label, text: (e as Error).message, ok: false });
    }
  };
  const remove = async () => {
    await send('DELETE', `api/flows/${encodeURIComponent(id)}`);
    onClose();
  };
  const base = `api/flows/${encodeURIComponent(id)}`;
  const tabs = TABS.filter((t) => t !== 'WebSocket' || f.websocket).filter((t) => t !== 'TLS' || f.scheme === 'https');
  const shown = tabs.includes(tab) ? tab : 'Request';

  return (
    <aside class="detail" aria-label="flow detail">
      <header class="detail-head">
        <div class="title">
          <strong>{f.method}</strong> <span class="url" title={f.url}>{f.kind === 'tunnel' ? origin(f as unknown as FlowSummary) : f.url}</span>
          {markers({ ...f, websocket: f.websocket ? { messages: f.websocket.messages.length, closed: f.state !== 'open' } : null }).map((m) => (
            <span key={m.text} class={`badge ${m.cls}`} title={m.title}>{m.text}</span>
          ))}
        </div>
        <div class="actions">
          <button type="button" onClick={() => copy('curl', `${base}/curl`)}>Copy as curl</button>
          <button type="button" onClick={() => copy('HAR entry', `${base}/har`)}>Copy as HAR</button>
          <button type="button" disabled={f.kind === 'tunnel'} onClick={() => setResend(!resend)}>Resend…</button>
          <button type="button" class="danger" onClick={remove}>Delete</button>
          <button type="button" class="ghost" aria-label="close detail" title="close (Esc)" onClick={onClose}>✕</button>
        </div>
      </header>
      {copied && (
        <div class="copied">
          <span role="status">{copied.ok ? `${copied.label} copied to the clipboard` : `Select and copy the ${copied.label}:`}</span>
          <textarea readOnly aria-label={`${copied.label} text`} rows={Math.min(8, copied.text.split('\n').length + 1)} value={copied.text} onFocus={(e) => (e.currentTarget as HTMLTextAreaElement).select()} />
        </div>
      )}
      {resend && <ResendDialog f={f} onClose={() => setResend(false)} onSent={(nid) => nid && onOpen(nid)} />}
      <nav class="tabs" role="tablist">
        {tabs.map((t) => (
          <button type="button" role="tab" key={t} aria-selected={t === shown} class={t === shown ? 'on' : ''} onClick={() => setTab(t)}>
            {t}
          </button>
        ))}
      </nav>
      <div class="tab-body" role="tabpanel">
        {shown === 'Request' && (
          <>
            <p class="muted">{f.request.method} {f.request.url} {f.request.httpVersion} · from {f.client}{f.identity ? ` (${f.identity})` : ''}</p>
            <HeadersTable title="Request headers" headers={f.request.headers} />
            <h4>Request body</h4>
            <BodyView id={id} which="request" capturedSize={f.request.body.capturedSize} version={version} />
          </>
        )}
        {shown === 'Response' &&
          (f.response ? (
            <>
              <p class="muted">{f.response.httpVersion} {f.response.status} {f.response.statusText}</p>
              <HeadersTable title="Response headers" headers={f.response.headers} />
              <h4>Response body</h4>
              <BodyView id={id} which="response" capturedSize={f.response.body.capturedSize} version={version} />
              {f.response.trailers && f.response.trailers.length > 0 && <HeadersTable title="Trailers" headers={f.response.trailers} />}
            </>
          ) : (
            <p class="muted">No response{f.error ? `: ${f.error.code} — ${f.error.message}` : f.state === 'open' ? ' yet' : ''}.</p>
          ))}
        {shown === 'Timing' && <TimingTab f={f} />}
        {shown === 'TLS' && <TlsTab f={f} />}
        {shown === 'WebSocket' && <WebSocketTab f={f} />}
        {shown === 'Policy' && <PolicyTab f={f} />}
      </div>
    </aside>
  );
}
