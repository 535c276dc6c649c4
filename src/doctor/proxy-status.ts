import type { HttpHead } from './http-head.js';
import type { EgresskitFacts, FailureKind } from './context.js';

/** RFC 9209 section 2.3 error types, as a sentence and the kind of failure they are. */
const ERROR_TYPES: Record<string, { text: string; kind: FailureKind }> = {
  dns_timeout: { text: 'the proxy\'s DNS lookup timed out', kind: 'target' },
  dns_error: { text: 'the proxy could not resolve the host', kind: 'target' },
  destination_not_found: { text: 'the proxy does not know the destination', kind: 'target' },
  destination_unavailable: { text: 'the destination is unavailable', kind: 'target' },
  destination_ip_prohibited: { text: 'the proxy may not connect to that address', kind: 'refused' },
  destination_ip_unroutable: { text: 'the proxy has no route to the destination', kind: 'target' },
  connection_refused: { text: 'the destination refused the proxy\'s connection', kind: 'target' },
  connection_terminated: { text: 'the destination closed the connection', kind: 'target' },
  connection_timeout: { text: 'the proxy\'s connection to the destination timed out', kind: 'target' },
  connection_read_timeout: { text: 'the destination stopped sending', kind: 'target' },
  connection_write_timeout: { text: 'the destination stopped reading', kind: 'target' },
  connection_limit_reached: { text: 'the proxy\'s connection limit is reached', kind: 'refused' },
  tls_protocol_error: { text: 'a TLS protocol error', kind: 'target' },
  tls_certificate_error: { text: 'the proxy did not accept the destination\'s certificate', kind: 'target' },
  tls_alert_received: { text: 'the destination sent a TLS alert', kind: 'target' },
  http_request_error: { text: 'the proxy found the request malformed', kind: 'refused' },
  http_request_denied: { text: 'the proxy refused the request', kind: 'refused' },
  http_response_incomplete: { text: 'the destination\'s response was incomplete', kind: 'target' },
  http_response_header_section_size: { text: 'the destination\'s response headers were too large', kind: 'target' },
  http_response_timeout: { text: 'the destination did not answer in time', kind: 'target' },
  proxy_internal_response: { text: 'the proxy answered by itself', kind: 'refused' },
  proxy_internal_error: { text: 'the proxy failed internally', kind: 'refused' },
  proxy_configuration_error: { text: 'the proxy is misconfigured', kind: 'refused' },
  proxy_loop_detected: { text: 'the request would loop back to the proxy', kind: 'refused' },
};

export interface ProxyStatus {
  proxy: string;
  error?: string;
  details?: string;
  /** The error type in words, or undefined for a type RFC 9209 does not define. */
  meaning?: string;
  kind?: FailureKind;
}

/** The last member of a Proxy-Status list: the proxy nearest the client, who answered us. */
export function parseProxyStatus(value: string | undefined): ProxyStatus | undefined {
  if (!value) return undefined;
  const members = value.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? [];
  const last = members[members.length - 1]?.trim();
  if (!last) return undefined;
  const [name, ...params] = last.match(/(?:[^;"]|"(?:[^"\\]|\\.)*")+/g) ?? [];
  const out: ProxyStatus = { proxy: (name ?? '').trim().replace(/^"|"$/g, '') };
  for (const p of params) {
    const i = p.indexOf('=');
    if (i < 0) continue;
    const key = p.slice(0, i).trim();
    const raw = p.slice(i + 1).trim();
    const val = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    if (key === 'error') out.error = val;
    if (key === 'details') out.details = val;
  }
  const type = out.error ? ERROR_TYPES[out.error] : undefined;
  if (type) {
    out.meaning = type.text;
    out.kind = type.kind;
  }
  return out;
}

/** What egresskit adds when the answer comes from it: which rule decided, why, and its hint. */
export function egresskitFacts(head: HttpHead, status: ProxyStatus | undefined): EgresskitFacts | undefined {
  const via = head.headers.via ?? '';
  const seenBy = status?.proxy === 'egresskit' ? 'Proxy-Status names egresskit' : /(^|,\s*)1\.1 egresskit\b/.test(via) ? 'Via: 1.1 egresskit' : undefined;
  if (!seenBy) return undefined;
  const facts: EgresskitFacts = { seenBy };
  const lines = head.body.split('\n');
  const message = lines.find((l) => l.startsWith('egresskit: '));
  if (message) facts.reason = message.slice('egresskit: '.length);
  const hint = lines.find((l) => l.startsWith('hint: '));
  if (hint) facts.hint = hint.slice('hint: '.length);
  const rule = /\b(?:by rule|rule) (\S+)/.exec(status?.details ?? facts.reason ?? '');
  if (rule) facts.rule = rule[1];
  return facts;
}
