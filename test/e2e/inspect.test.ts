import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort, openSocket, readUntil } from '../helpers/raw.js';
import { startHttpsUpstream, startHttpUpstream, type Upstream } from '../helpers/upstream.js';

interface FlowJson {
  id: string;
  url: string;
  method: string;
  status: number | null;
  intercepted: boolean;
  error: { code: string; message: string } | null;
  tls?: Record<string, unknown> | null;
  request?: { body: { utf8: string | null; size: number } };
  response?: { body: { utf8: string | null; size: number } } | null;
}

function portOf(address: unknown): number {
  return Number(/:(\d+)$/.exec(String(address))![1]);
}

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

describe('inspect: TLS interception with flows, UI and HAR', () => {
  let pki: TestPki;
  let untrustedPki: TestPki;
  let https: Upstream;
  let untrusted: Upstream;
  let plain: Upstream;
  let caDir: string;
  let proxy: CliProxy;
  let ui: string;
  let uiPort: number;

  before(async () => {
    pki = await makeTestPki('egk-inspect');
    untrustedPki = await makeTestPki('egk-untrusted');
    https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    untrusted = await startHttpsUpstream(untrustedPki.serverCert, untrustedPki.serverKey);
    plain = await startHttpUpstream();
    caDir = await mkdtemp(join(tmpdir(), 'egk-inspect-ca-'));
    const ports = [https.port, untrusted.port, plain.port];
    proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--ui', '127.0.0.1:0',
      '--ca-dir', caDir, '--upstream-ca', pki.caFile, '--allow-private',
      '--connect-ports', ports.join(','), '--passthrough', '127.0.0.1', '--redact', 'x-api-key',
    ]);
    const listening = await proxy.waitForLog((l) => l.event === 'listening');
    uiPort = portOf(listening.ui);
    ui = `http://127.0.0.1:${uiPort}`;
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([https?.close(), untrusted?.close(), plain?.close()]);
  });

  const flows = async () => (await getJson<{ flows: FlowJson[] }>(`${ui}/api/flows`)).body.flows;
  const flowDetail = async (id: string) => (await getJson<FlowJson>(`${ui}/api/flows/${id}`)).body;
  /** The proxy finishes a flow just after the client has its last byte; wait for that. */
  const settledFlow = async (url: string): Promise<FlowJson> => {
    for (let i = 0; i < 100; i++) {
      const f = (await flows()).find((x) => x.url === url);
      if (f) {
        const detail = await flowDetail(f.id);
        if ((detail as unknown as { state: string }).state !== 'open') return detail;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no finished flow for ${url}`);
  };

  it('creates the CA once in --ca-dir: ca.crt and a 0600 ca.key; the listening line names ui and ca_cert', async () => {
    const key = await stat(join(caDir, 'ca.key'));
    assert.equal(key.mode & 0o777, 0o600);
    const listening = await proxy.waitForLog((l) => l.event === 'listening');
    assert.equal(listening.mode, 'inspect');
    assert.equal(listening.ca_cert, join(caDir, 'ca.crt'));
    assert.ok(listening.admin && listening.url && listening.proxy);
    const served = await fetch(`${ui}/ca.crt`).then((r) => r.text());
    assert.equal(served, await readFile(join(caDir, 'ca.crt'), 'utf8'));
  });

  it('GET and POST through interception: 200, flows with request and response bodies, one log line each', async () => {
    const ca = join(caDir, 'ca.crt');
    const get = await curl(['--cacert', ca, '-x', proxy.url, `${https.origin}/echo?q=1`]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.status, 200);
    const post = await curl(['--cacert', ca, '-x', proxy.url, '-H', 'x-api-key: hunter2', '-d', '{secretkey: secretvalue}', `${https.origin}/echo`]);
    assert.equal(post.status, 200);
    assert.equal(JSON.parse(post.body).bodyLength, 24);

    const list = await flows();
    const postFlow = list.find((f) => f.method === 'POST' && f.url === `${https.origin}/echo`);
    const getFlow = list.find((f) => f.method === 'GET' && f.url === `${https.origin}/echo?q=1`);
    assert.ok(postFlow && getFlow, JSON.stringify(list));
    assert.equal(postFlow.status, 200);
    assert.equal(postFlow.intercepted, true);
    const detail = await settledFlow(`${https.origin}/echo`);
    assert.equal(detail.request!.body.utf8, '{secretkey: secretvalue}');
    assert.match(detail.response!.body.utf8!, /"bodyLength":24/);
    assert.equal((detail.tls as { upstreamVerified?: boolean }).upstreamVerified, true);
    assert.equal((detail.tls as { clientAlpn?: string }).clientAlpn, 'http/1.1');
    const sent = (detail.request as unknown as { headers: Array<[string, string]> }).headers;
    assert.deepEqual(sent.find(([n]) => n === 'x-api-key'), ['x-api-key', '[REDACTED]']);

    const line = await proxy.waitForLog((l) => l.event === 'http' && l.method === 'POST' && l.url === `${https.origin}/echo`);
    assert.equal(line.status, 200);
    assert.equal(line.decision, 'allow');
  });

  it('a client without the CA refuses the minted certificate (curl exit 60), and the log says why', async () => {
    const r = await curl(['-x', proxy.url, `${https.origin}/echo`]);
    assert.equal(r.code, 60, r.stderr);
    const line = await proxy.waitForLog((l) => l.event === 'connect' && l.error === 'client_tls');
    assert.match(String(line.error_detail), /ca\.crt/);
  });

  it('HAR export has the entries with postData and content', async () => {
    const { status, body } = await getJson<{ log: { version: string; entries: Array<{ request: { method: string; url: string; postData?: { text?: string } }; response: { status: number } }> } }>(`${ui}/api/flows.har`);
    assert.equal(status, 200);
    assert.equal(body.log.version, '1.2');
    const post = body.log.entries.find((e) => e.request.method === 'POST' && e.request.url === `${https.origin}/echo`);
    assert.ok(post);
    assert.equal(post.request.postData?.text, '{secretkey: secretvalue}');
    assert.equal(post.response.status, 200);
  });

  it('egresskit flows export --har writes the captured flows; a locked UI without the token exits 2', async () => {
    const file = join(caDir, 'flows.har');
    const r = await runCli(['flows', 'export', '--har', file, '--ui', ui]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wrote \d+ flows to /);
    const har = JSON.parse(await readFile(file, 'utf8')) as { log: { version: string; entries: unknown[] } };
    assert.equal(har.log.version, '1.2');
    assert.ok(har.log.entries.length > 0);
    const down = await runCli(['flows', 'export', '--har', file, '--ui', 'http://127.0.0.1:1']);
    assert.equal(down.code, 2);
    assert.match(down.stderr, /cannot reach the inspect UI/);
  });

  it('plain-HTTP absolute-URI requests become flows too', async () => {
    const r = await curl(['-x', proxy.url, `${plain.origin}/echo`]);
    assert.equal(r.status, 200);
    const f = (await flows()).find((x) => x.url === `${plain.origin}/echo`);
    assert.ok(f);
    assert.equal(f.intercepted, false);
    assert.equal(f.status, 200);
  });

  it('a CONNECT that does not carry TLS (plain HTTP through the tunnel) is tunnelled untouched', async () => {
    // localhost, not 127.0.0.1: the latter is a --passthrough pattern in this suite.
    const r = await curl(['-p', '-x', proxy.url, `http://localhost:${plain.port}/echo`]);
    assert.equal(r.status, 200, r.stderr);
    const line = await proxy.waitForLog((l) => l.event === 'connect' && l.target === `localhost:${plain.port}` && l.status === 200);
    assert.ok((line.bytes_down as number) > 0);
  });

  it('passthrough hosts are tunnelled: only the upstream CA is accepted', async () => {
    const target = `https://127.0.0.1:${https.port}/echo`;
    const withInspectCa = await curl(['--cacert', join(caDir, 'ca.crt'), '-x', proxy.url, target]);
    assert.equal(withInspectCa.code, 60, withInspectCa.stderr);
    const withUpstreamCa = await curl(['--cacert', pki.caFile, '-x', proxy.url, target]);
    assert.equal(withUpstreamCa.code, 0, withUpstreamCa.stderr);
    assert.equal(withUpstreamCa.status, 200);
  });

  it('an untrusted upstream certificate: 502 inside the tunnel naming the verify code, on the flow and in the log', async () => {
    const r = await curl(['-i', '--cacert', join(caDir, 'ca.crt'), '-x', proxy.url, `${untrusted.origin}/echo`]);
    assert.equal(r.status, 502);
    assert.match(r.body, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    assert.match(r.body, /--upstream-ca/);
    const f = (await flows()).find((x) => x.url === `${untrusted.origin}/echo`);
    assert.equal(f?.error?.code, 'upstream_tls');
    const line = await proxy.waitForLog((l) => l.event === 'http' && l.error === 'upstream_tls');
    assert.equal(line.status, 502);
  });

  it('a TLS server name other than the CONNECT host is refused and logged (no domain fronting)', async () => {
    const socket = await openSocket(proxy.port);
    socket.write(`CONNECT localhost:${https.port} HTTP/1.1\r\nHost: localhost:${https.port}\r\n\r\n`);
    assert.match(await readUntil(socket, '\r\n\r\n'), /^HTTP\/1\.1 200/);
    const ca = await readFile(join(caDir, 'ca.crt'), 'utf8');
    const outcome = await new Promise<string>((resolve) => {
      const t = tlsConnect({ socket, servername: 'evil.example', ca });
      t.once('secureConnect', () => resolve('connected'));
      t.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    socket.destroy();
    assert.notEqual(outcome, 'connected');
    const line = await proxy.waitForLog((l) => l.event === 'connect' && l.error === 'sni_mismatch');
    assert.match(String(line.error_detail), /evil\.example/);
  });

  it('the UI port is never reachable through the proxy port', async () => {
    // Even with the UI port listed as a destination port, the self-address check refuses it.
    const p = await freePort();
    const self = await startCli(['inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', `127.0.0.1:${p}`, '--ca-dir', caDir, '--allow-private', '--connect-ports', String(p)]);
    try {
      const r = await curl(['-x', self.url, `http://127.0.0.1:${p}/api/flows`]);
      assert.equal(r.status, 403);
      assert.match(r.body, /itself/);
    } finally {
      await self.stop();
    }
  });

  it('a 400 MB download streams through interception with bounded memory', async () => {
    const pid = proxy.child.pid!;
    const download = (n: number) => curl(['--cacert', join(caDir, 'ca.crt'), '-x', proxy.url, '-o', '/dev/null', '-w', '%{size_download}\n', `${https.origin}/bytes?n=${n}`]);
    // The first large transfer grows the heap and buffer pools to their working size (about
    // 100 MiB on Node 24, less on 20); what must not grow is memory in proportion to the body.
    await download(100 * 1024 * 1024);
    const before = await rssKiB(pid);
    const n = 400 * 1024 * 1024;
    const r = await download(n);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${n}\\n`));
    const afterKiB = await rssKiB(pid);
    assert.ok(afterKiB - before < 100 * 1024, `RSS grew from ${before} KiB to ${afterKiB} KiB`);
    const detail = await settledFlow(`${https.origin}/bytes?n=${n}`);
    assert.equal(detail.response!.body.size, n);
    assert.equal((detail.response!.body as unknown as { truncated: boolean }).truncated, true);
  });

  it('a restart reuses the CA; a UI off loopback needs the token from <ca-dir>/ui-token', async () => {
    const first = await readFile(join(caDir, 'ca.crt'));
    const second = await startCli(['inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', '0.0.0.0:0', '--ca-dir', caDir, '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', String(https.port)]);
    try {
      assert.deepEqual(await readFile(join(caDir, 'ca.crt')), first);
      const r = await curl(['--cacert', join(caDir, 'ca.crt'), '-x', second.url, `${https.origin}/echo`]);
      assert.equal(r.status, 200);
      const l = await second.waitForLog((x) => x.event === 'listening');
      assert.equal(l.ui_token_file, join(caDir, 'ui-token'));
      const tokenStat = await stat(join(caDir, 'ui-token'));
      assert.equal(tokenStat.mode & 0o777, 0o600);
      const token = (await readFile(join(caDir, 'ui-token'), 'utf8')).trim();
      assert.ok(token.length >= 32);
      assert.ok(!second.logs.some((x) => JSON.stringify(x).includes(token)), 'the token must never be logged');
      const secondUi = `http://127.0.0.1:${portOf(l.ui)}/api/flows`;
      assert.equal((await fetch(secondUi)).status, 401);
      const ok = await getJson<{ flows: FlowJson[] }>(secondUi, { authorization: `Bearer ${token}` });
      assert.equal(ok.status, 200);
      const locked = await runCli(['flows', 'export', '--har', join(caDir, 'locked.har'), '--ui', `http://127.0.0.1:${portOf(l.ui)}`]);
      assert.equal(locked.code, 2);
      assert.match(locked.stderr, /--token-file <ca-dir>\/ui-token/);
      const unlocked = await runCli(['flows', 'export', '--har', join(caDir, 'locked.har'), '--ui', `http://127.0.0.1:${portOf(l.ui)}`, '--token-file', join(caDir, 'ui-token')]);
      assert.equal(unlocked.code, 0, unlocked.stderr);
      assert.ok(ok.body.flows.some((f) => f.url === `${https.origin}/echo`));
    } finally {
      await second.stop();
    }
  });

  it('--insecure-upstream: logged loudly at start, untrusted upstreams answer, flows are marked', async () => {
    const insecure = await startCli(['inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', '127.0.0.1:0', '--ca-dir', caDir, '--insecure-upstream', '--allow-private', '--connect-ports', String(untrusted.port)]);
    try {
      const warning = await insecure.waitForLog((x) => x.event === 'warning');
      assert.equal(warning.level, 'warn');
      assert.match(String(warning.reason), /INSECURE/);
      const r = await curl(['--cacert', join(caDir, 'ca.crt'), '-x', insecure.url, `${untrusted.origin}/echo`]);
      assert.equal(r.status, 200);
      const l = await insecure.waitForLog((x) => x.event === 'listening');
      const base = `http://127.0.0.1:${portOf(l.ui)}`;
      const list = (await getJson<{ flows: FlowJson[] }>(`${base}/api/flows`)).body.flows;
      const detail = (await getJson<FlowJson>(`${base}/api/flows/${list[0]!.id}`)).body;
      assert.equal((detail.tls as { upstreamVerified?: boolean }).upstreamVerified, false);
    } finally {
      await insecure.stop();
    }
  });

  it('config errors exit 2: --ca-cert without --ca-key, a bad --passthrough or --http1 pattern, a rule alpn that does not exist', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-inspect-cfg-'));
    const config = join(dir, 'config.yaml');
    await writeFile(config, 'mode: inspect\npolicy:\n  rules:\n    - {action: allow, hosts: ["api.example.com"], alpn: h3}\n');
    const cases: Array<[string[], RegExp]> = [
      [['--ca-cert', join(caDir, 'ca.crt')], /--ca-key/],
      [['--passthrough', 'a*b.example'], /inspect\.passthrough.*wildcard/s],
      [['--http1', 'a*b.example'], /inspect\.http1.*wildcard/s],
      [['--config', config], /policy\.rules\[0\]\.alpn: .*"auto"\|"http1"/],
    ];
    for (const [extra, message] of cases) {
      const bad = await runCli(['inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', 'off', '--ca-dir', caDir, ...extra]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, message);
    }
  });
});
