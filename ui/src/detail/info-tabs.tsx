import type { FlowDetail } from '../api';
import { duration } from '../format';

function Row({ k, v }: { k: string; v: string | number | boolean | null | undefined }) {
  if (v === undefined || v === null || v === '') return null;
  return (
    <tr>
      <th>{k}</th>
      <td>{String(v)}</td>
    </tr>
  );
}

export function TimingTab({ f }: { f: FlowDetail }) {
  const t = f.timings;
  const total = t.endMs !== undefined ? t.endMs - t.startMs : undefined;
  const phases: Array<[string, number | undefined]> = [
    ['DNS', f.phases.dnsMs],
    ['Connect', f.phases.connectMs],
    ['TLS (upstream)', f.phases.tlsMs],
    ['Time to first byte', f.phases.ttfbMs],
    ['Request sent', t.requestEndMs !== undefined ? t.requestEndMs - t.startMs : undefined],
    ['Waiting (server)', t.responseStartMs !== undefined && t.requestEndMs !== undefined ? t.responseStartMs - t.requestEndMs : undefined],
    ['Receiving', t.endMs !== undefined && t.responseStartMs !== undefined ? t.endMs - t.responseStartMs : undefined],
    ['Total', total],
  ];
  const max = Math.max(1, ...phases.map(([, v]) => v ?? 0));
  return (
    <table class="kv timing">
      <tbody>
        <Row k="Started" v={new Date(f.startedAt).toLocaleString()} />
        {phases.map(([k, v]) =>
          v === undefined ? null : (
            <tr key={k}>
              <th>{k}</th>
              <td>
                <span class="bar" style={{ width: `${Math.max(1, (v / max) * 200)}px` }} /> {duration(v)}
              </td>
            </tr>
          ),
        )}
      </tbody>
      <caption class="muted">DNS, connect and TLS are the proxy's own steps toward the destination (shared by the exchanges of one tunnel).</caption>
    </table>
  );
}

export function TlsTab({ f }: { f: FlowDetail }) {
  if (f.scheme !== 'https') return <p class="muted">Plain HTTP: no TLS on either leg.</p>;
  const tls = f.tls ?? {};
  return (
    <>
      <h4>Client ↔ proxy</h4>
      <table class="kv">
        <tbody>
          <Row k="Intercepted" v={f.intercepted ? 'yes: the proxy presented a leaf from its CA' : 'no (passed through)'} />
          <Row k="SNI" v={tls.sni} />
          <Row k="ALPN offered / chosen" v={tls.clientAlpn} />
          <Row k="Client identity" v={f.identity} />
          <Row k="Client address" v={f.client} />
        </tbody>
      </table>
      <h4>Proxy ↔ destination</h4>
      <table class="kv">
        <tbody>
          <Row k="Protocol" v={tls.upstreamProtocol} />
          <Row k="Cipher" v={tls.upstreamCipher} />
          <Row k="ALPN" v={tls.upstreamAlpn} />
          <Row k="Certificate verified" v={tls.upstreamVerified === undefined ? undefined : tls.upstreamVerified ? 'yes' : 'NO (--insecure-upstream)'} />
        </tbody>
      </table>
    </>
  );
}

export function PolicyTab({ f }: { f: FlowDetail }) {
  const d = f.decision;
  return (
    <>
      {d ? (
        <table class="kv">
          <tbody>
            <tr>
              <th>Verdict</th>
              <td>
                <span class={`badge v-${d.verdict}`}>{d.verdict}</span>
              </td>
            </tr>
            <Row k="Rule" v={d.ruleId} />
            <Row k="Reason" v={d.reason} />
          </tbody>
        </table>
      ) : (
        <p class="muted">No policy decision was recorded for this flow{f.imported ? ' (imported)' : ''}.</p>
      )}
      {f.error && (
        <>
          <h4>Error</h4>
          <table class="kv">
            <tbody>
              <Row k="Code" v={f.error.code} />
              <Row k="Message" v={f.error.message} />
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

function messageText(data: FlowDetail['request']['body'], opcode: number): string {
  if (opcode === 1 && data.utf8 !== null) return data.utf8;
  const bin = atob(data.base64);
  return [...bin].slice(0, 512).map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');
}

export function WebSocketTab({ f }: { f: FlowDetail }) {
  const ws = f.websocket;
  if (!ws) return <p class="muted">Not a WebSocket.</p>;
  const OPS: Record<number, string> = { 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };
  return (
    <>
      <p class="muted">
        {ws.messages.length} messages kept{ws.droppedMessages > 0 ? `, ${ws.droppedMessages} more seen but not kept` : ''}
        {ws.closeCode !== null ? ` · closed ${ws.closeCode}${ws.closeReason ? ` (${ws.closeReason})` : ''}` : ''}
        {ws.captureError ? ` · capture stopped: ${ws.captureError}` : ''}
      </p>
      <table class="msgs">
        <tbody>
          {ws.messages.map((m, i) => (
            <tr key={i} class={m.direction}>
              <td>{m.direction === 'send' ? '↑' : '↓'}</td>
              <td>{new Date(m.at).toISOString().slice(11, 23)}</td>
              <td>{OPS[m.opcode] ?? m.opcode}</td>
              <td class="msg">
                {messageText(m.data, m.opcode)}
                {m.data.truncated ? ` … (${m.data.size} bytes, cut)` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
