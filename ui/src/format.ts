import type { FlowSummary } from './api';

export function size(n: number | null): string {
  if (n === null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function origin(f: FlowSummary): string {
  const host = f.host.includes(':') ? `[${f.host}]` : f.host;
  const dflt = f.scheme === 'https' ? 443 : 80;
  return `${f.scheme}://${host}${f.port === dflt ? '' : `:${f.port}`}`;
}

export function statusText(f: FlowSummary): string {
  if (f.status !== null) return String(f.status);
  if (f.state === 'open') return '…';
  return f.error?.code ?? 'error';
}

export interface Marker {
  text: string;
  cls: string;
  title: string;
}

/** Text badges (never colour alone) for what makes a flow stand out. */
export function markers(f: FlowSummary): Marker[] {
  const out: Marker[] = [];
  if (f.verdict === 'denied') out.push({ text: 'denied', cls: 'm-denied', title: 'refused by policy' });
  if (f.verdict === 'would-deny') out.push({ text: 'would-deny', cls: 'm-would', title: 'a report-mode rule would refuse this' });
  if (f.passthrough) out.push({ text: 'passthrough', cls: 'm-pass', title: 'tunnelled without interception' });
  if (f.error?.code === 'interrupted') out.push({ text: 'interrupted', cls: 'm-int', title: f.error.message });
  else if (f.state === 'error' && f.verdict !== 'denied') out.push({ text: 'error', cls: 'm-err', title: f.error ? `${f.error.code}: ${f.error.message}` : 'failed' });
  if (f.websocket) out.push({ text: 'WS', cls: 'm-ws', title: `WebSocket, ${f.websocket.messages} messages` });
  if (f.imported) out.push({ text: 'imported', cls: 'm-imp', title: 'from an imported HAR file (read-only)' });
  if (f.kind !== 'tunnel' && (f.requestTruncated || f.responseTruncated)) out.push({ text: 'cut', cls: 'm-cut', title: 'a body was larger than the capture cap' });
  return out;
}

export function statusClass(f: FlowSummary): string {
  if (f.state === 'error' || f.verdict === 'denied') return 's-err';
  if (f.status === null) return '';
  if (f.status >= 500) return 's-5';
  if (f.status >= 400) return 's-4';
  if (f.status >= 300) return 's-3';
  return 's-2';
}
