import { newFlowId, type Flow, type HeaderList } from '../../src/flows/flow.js';

// Traffic a cluster's workloads make, for screenshots and the 10,000-flow test: package
// registries, cloud APIs, SaaS webhooks, a few refusals, tunnels passed through, a WebSocket.
const HOSTS: Array<[host: string, paths: string[], type: string]> = [
  ['api.github.com', ['/repos/egresskit/egresskit/pulls?state=open', '/user', '/repos/egresskit/egresskit/commits/main/status'], 'application/json; charset=utf-8'],
  ['registry.npmjs.org', ['/preact', '/vite/-/vite-6.4.6.tgz', '/@types%2fnode'], 'application/json'],
  ['pypi.org', ['/simple/requests/', '/pypi/urllib3/json'], 'application/vnd.pypi.simple.v1+json'],
  ['files.pythonhosted.org', ['/packages/requests-2.32.3-py3-none-any.whl'], 'application/octet-stream'],
  ['sts.eu-west-1.amazonaws.com', ['/?Action=AssumeRoleWithWebIdentity&Version=2011-06-15'], 'text/xml'],
  ['s3.eu-west-1.amazonaws.com', ['/shop-invoices/2026/12/inv-1042.pdf', '/shop-assets/logo.png'], 'application/pdf'],
  ['oauth2.googleapis.com', ['/token'], 'application/json; charset=utf-8'],
  ['api.stripe.com', ['/v1/payment_intents', '/v1/customers/cus_R4nd0m'], 'application/json'],
  ['hooks.slack.com', ['/services/T000/B000/XXXX'], 'text/html'],
  ['o4504.ingest.sentry.io', ['/api/4504/envelope/'], 'application/json'],
];
const IDENTITIES = ['spiffe://cluster.local/ns/shop/sa/checkout', 'spiffe://cluster.local/ns/shop/sa/invoices', 'ci-runner', null, null];

function headers(host: string, extra: HeaderList = []): HeaderList {
  return [['host', host], ['user-agent', 'node-fetch/3.3.2'], ['accept', 'application/json'], ...extra];
}

function body(text: string | Buffer) {
  const captured = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return { size: captured.length, captured, truncated: false };
}

/** n flows, newest last, spread over the last hour; deterministic. */
export function sampleFlows(n: number, now = Date.parse('2026-12-03T10:00:00Z')): Flow[] {
  const out: Flow[] = [];
  for (let i = 0; i < n; i++) {
    const [host, paths, type] = HOSTS[(i * 7) % HOSTS.length]!;
    const path = paths[i % paths.length]!;
    const post = /token|payment|envelope|services|Assume/.test(path);
    const status = i % 53 === 7 ? 503 : i % 29 === 3 ? 404 : i % 31 === 5 ? 401 : post && i % 2 ? 201 : 200;
    const payload = type.includes('json') ? JSON.stringify({ id: i, path, ok: status < 400, items: [{ name: 'egresskit', stars: 1200 + i }], updated_at: new Date(now).toISOString() }) : type.includes('xml') ? `<AssumeRoleResponse><RequestId>${i}</RequestId></AssumeRoleResponse>` : 'x'.repeat(200 + (i % 900));
    const start = i * 3.7;
    const dur = 12 + ((i * 37) % 480);
    const f: Flow = {
      id: newFlowId(),
      startedAt: new Date(now - (n - i) * 360).toISOString(),
      client: `10.42.${i % 7}.${10 + (i % 40)}:${40000 + i}`,
      identity: IDENTITIES[i % IDENTITIES.length] ?? null,
      scheme: 'https',
      host,
      port: 443,
      intercepted: true,
      tls: { sni: host, clientAlpn: i % 3 ? 'h2' : 'http/1.1', upstreamAlpn: i % 3 ? 'h2' : 'http/1.1', upstreamProtocol: 'TLSv1.3', upstreamCipher: 'TLS_AES_128_GCM_SHA256', upstreamVerified: true },
      request: {
        method: post ? 'POST' : 'GET',
        url: path,
        httpVersion: i % 3 ? 'HTTP/2' : 'HTTP/1.1',
        headers: headers(host, post ? [['content-type', 'application/json']] : []),
        body: body(post ? JSON.stringify({ grant_type: 'client_credentials', amount: 1999 + i, currency: 'eur' }) : ''),
      },
      response: { status, statusText: status === 200 ? 'OK' : '', httpVersion: i % 3 ? 'HTTP/2' : 'HTTP/1.1', headers: [['content-type', type], ['content-length', String(payload.length)], ['x-request-id', `req-${i.toString(16)}`]], body: body(payload) },
      timings: { startMs: start, requestEndMs: start + 1, responseStartMs: start + dur * 0.8, endMs: start + dur },
      phases: { dnsMs: 1.2 + (i % 5), connectMs: 3 + (i % 11), tlsMs: 9 + (i % 17), ttfbMs: dur * 0.8 },
      decision: { verdict: 'allowed', ruleId: 'allow-saas', reason: `${host} matches *.${host.split('.').slice(-2).join('.')}` },
      state: 'complete',
    };
    if (i % 41 === 11) {
      // A refused CONNECT: a tunnel with no exchange.
      f.kind = 'tunnel';
      f.host = 'pastebin.com';
      f.request = { method: 'CONNECT', url: 'pastebin.com:443', httpVersion: '1.1', headers: [], body: body('') };
      f.response = { status: 403, statusText: 'Forbidden', httpVersion: '1.1', headers: [], body: body('') };
      f.decision = { verdict: 'denied', ruleId: 'default', reason: 'pastebin.com is not in any allow rule' };
      f.error = { code: 'policy_denied', message: 'refused by policy' };
      f.state = 'error';
      delete f.tls;
    } else if (i % 37 === 13) {
      f.kind = 'tunnel';
      f.passthrough = true;
      f.intercepted = false;
      f.host = 'vault.internal.example';
      f.port = 8200;
      f.request = { method: 'CONNECT', url: 'vault.internal.example:8200', httpVersion: '1.1', headers: [], body: { size: 4120, captured: Buffer.alloc(0), truncated: true } };
      f.response = { status: 200, statusText: 'Connection Established', httpVersion: '1.1', headers: [], body: { size: 18230, captured: Buffer.alloc(0), truncated: true } };
    } else if (i % 43 === 17) {
      f.decision = { verdict: 'would-deny', ruleId: 'report-telemetry', reason: 'report mode: telemetry hosts will be refused' };
    } else if (i % 47 === 19) {
      f.response = { status: 101, statusText: 'Switching Protocols', httpVersion: 'HTTP/1.1', headers: [['upgrade', 'websocket']], body: body('') };
      f.request.httpVersion = 'HTTP/1.1';
      f.websocket = { messages: [{ direction: 'send', opcode: 1, at: now, data: body('{"subscribe":"orders"}') }, { direction: 'receive', opcode: 1, at: now + 5, data: body('{"order":1042,"state":"paid"}') }], droppedMessages: 0 };
    } else if (i % 59 === 23) {
      f.response = undefined;
      f.error = { code: 'upstream_timeout', message: 'the destination did not answer within 30 s' };
      f.state = 'error';
    }
    out.push(f);
  }
  return out;
}
