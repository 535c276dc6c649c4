import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { startH2Upstream } from '../helpers/h2-upstream.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startHttpUpstream, type Upstream } from '../helpers/upstream.js';

interface FlowJson {
  id: string;
  url: string;
  state: string;
  identity: string | null;
  intercepted: boolean;
  status: number | null;
  tls?: { clientAlpn?: string; upstreamVerified?: boolean } | null;
}

const SPIFFE = 'spiffe://cluster.local/ns/payments/sa/api';

function portOf(address: unknown): number {
  return Number(/:(\d+)$/.exec(String(address))![1]);
}

/** The mtls bundle (CA, server, client "egresskit client") plus a client whose identity is a SPIFFE URI SAN. */
async function makeCerts(): Promise<string> {
  const certs = join(await mkdtemp(join(tmpdir(), 'egk-mtls-inspect-')), 'certs');
  const made = await runCli(['certs', 'mtls', '--out', certs]);
  assert.equal(made.code, 0, made.stderr);
  const issued = await runCli(['certs', 'issue', '--ca', certs, '--kind', 'client', '--cn', 'payments-api', '--san', SPIFFE, '--out', certs, '--name', 'payments']);
  assert.equal(issued.code, 0, issued.stderr);
  return certs;
}

describe('mtls --inspect: interception behind the client-certificate listener', () => {
  let pki: TestPki;
  let https: Upstream;
  let http: Upstream;
  let certs: string;
  let caDir: string;
  let proxy: CliProxy;
  let ui: string;

  before(async () => {
    pki = await makeTestPki('egk-mtls-inspect');
    https = await startH2Upstream(pki.serverCert, pki.serverKey);
    http = await startHttpUpstream();
    certs = await makeCerts();
    caDir = await mkdtemp(join(tmpdir(), 'egk-mtls-inspect-ca-'));
    proxy = await startCli([
      'mtls', '--inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', '127.0.0.1:0',
      '--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt'),
      '--ca-dir', caDir, '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', `${https.port},${http.port}`,
    ]);
    const listening = await proxy.waitForLog((l) => l.event === 'listening');
    ui = `http://127.0.0.1:${portOf(listening.ui)}`;
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([https?.close(), http?.close()]);
  });

  /** curl through the TLS proxy port: the proxy's certificate is checked with the mtls CA, the minted one with the interception CA. */
  const viaProxy = (client: string[], extra: string[]) =>
    curl(['--proxy', `https://localhost:${proxy.port}`, '--proxy-cacert', join(certs, 'ca.crt'), ...client, '--cacert', join(caDir, 'ca.crt'), ...extra]);
  const withCert = (name: string) => ['--proxy-cert', join(certs, `${name}.crt`), '--proxy-key', join(certs, `${name}.key`)];

  /** The proxy finishes a flow just after the client has its last byte; wait for that. */
  const settledFlow = async (url: string): Promise<FlowJson> => {
    for (let i = 0; i < 100; i++) {
      const { flows } = (await (await fetch(`${ui}/api/flows`)).json()) as { flows: FlowJson[] };
      const f = flows.find((x) => x.url === url);
      if (f && f.state !== 'open') return (await (await fetch(`${ui}/api/flows/${f.id}`)).json()) as FlowJson;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no finished flow for ${url}`);
  };

  it('the listening line is mtls with the UI and the interception CA', async () => {
    const listening = await proxy.waitForLog((l) => l.event === 'listening');
    assert.equal(listening.mode, 'mtls');
    assert.match(String(listening.url), /^https:\/\//);
    assert.equal(listening.ca_cert, join(caDir, 'ca.crt'));
  });

  it('HTTP/1.1 with a SPIFFE client certificate: the response, and a flow with the URI SAN as identity', async () => {
    const url = `${https.origin}/echo?who=spiffe`;
    const r = await viaProxy(withCert('payments'), ['--http1.1', url]);
    assert.equal(r.status, 200, r.stderr);
    assert.equal(JSON.parse(r.body).httpVersion, '1.1');
    const flow = await settledFlow(url);
    assert.equal(flow.identity, SPIFFE);
    assert.equal(flow.intercepted, true);
    assert.equal(flow.status, 200);
    assert.equal(flow.tls?.clientAlpn, 'http/1.1');
    assert.equal(flow.tls?.upstreamVerified, true);
    const line = await proxy.waitForLog((l) => l.event === 'http' && l.url === `${https.origin}/echo`);
    assert.equal(line.identity, SPIFFE);
    assert.equal(line.identity_kind, 'certificate');
  });

  it('HTTP/2 end to end inside the TLS proxy connection: the identity is the subject CN', async () => {
    const url = `${https.origin}/echo?who=cn`;
    const r = await viaProxy(withCert('client'), ['--http2', url]);
    assert.equal(r.status, 200, r.stderr);
    assert.equal(JSON.parse(r.body).httpVersion, '2.0');
    const flow = await settledFlow(url);
    assert.equal(flow.identity, 'egresskit client');
    assert.equal(flow.tls?.clientAlpn, 'h2');
  });

  it('plain HTTP (absolute URI over the TLS port) is a flow with the identity too, not intercepted', async () => {
    const url = `${http.origin}/echo`;
    const r = await viaProxy(withCert('payments'), [url]);
    assert.equal(r.status, 200, r.stderr);
    const flow = await settledFlow(url);
    assert.equal(flow.identity, SPIFFE);
    assert.equal(flow.intercepted, false);
  });

  it('HAR export carries the identity', async () => {
    const har = (await (await fetch(`${ui}/api/flows.har`)).json()) as { log: { entries: Array<{ request: { url: string }; _egresskit: { identity: string | null } }> } };
    const entry = har.log.entries.find((e) => e.request.url === `${https.origin}/echo?who=spiffe`);
    assert.equal(entry?._egresskit.identity, SPIFFE);
  });

  it('a client without a certificate is refused at the handshake, as in plain mtls, and leaves no flow', async () => {
    const before = ((await (await fetch(`${ui}/api/flows`)).json()) as { total: number }).total;
    const r = await viaProxy([], [`${https.origin}/echo?who=nobody`]);
    assert.ok([35, 52, 56].includes(r.code), `curl exit ${r.code}: ${r.stderr}`);
    const line = await proxy.waitForLog((l) => l.event === 'tls_error' && /the client sent no certificate/.test(String(l.error_detail)));
    assert.equal(line.error, 'tls_handshake');
    const after = ((await (await fetch(`${ui}/api/flows`)).json()) as { total: number }).total;
    assert.equal(after, before);
  });

  it('a certificate from another CA is refused, and the log line still names the client address', async () => {
    const other = await makeCerts();
    const r = await viaProxy(['--proxy-cert', join(other, 'client.crt'), '--proxy-key', join(other, 'client.key')], [`${https.origin}/echo?who=stranger`]);
    assert.ok([35, 52, 56].includes(r.code), `curl exit ${r.code}: ${r.stderr}`);
    const line = await proxy.waitForLog((l) => l.event === 'tls_error' && /not signed by the client CA/.test(String(l.error_detail)));
    // The refused TLS socket has lost its address by then; the TCP socket under it kept it (see node-quirks).
    assert.match(String(line.client), /^127\.0\.0\.1:\d+$/);
  });
});

describe('mtls --inspect: the config file and usage errors', () => {
  let certs: string;
  before(async () => {
    certs = await makeCerts();
  });
  const tlsFlags = () => ['--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt')];

  it('mode: mtls with an inspect section intercepts without --inspect', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-mtls-inspect-file-'));
    const file = join(dir, 'egresskit.yaml');
    await writeFile(file, `mode: mtls\ninspect:\n  ui: 127.0.0.1:0\n  caDir: ${JSON.stringify(dir)}\n`);
    const proxy = await startCli(['mtls', '--config', file, '--listen', '127.0.0.1:0', '--admin', 'off', ...tlsFlags()]);
    try {
      const listening = await proxy.waitForLog((l) => l.event === 'listening');
      assert.equal(listening.mode, 'mtls');
      assert.equal(listening.ca_cert, join(dir, 'ca.crt'));
      assert.ok(listening.ui, 'the UI listens');
    } finally {
      await proxy.stop();
    }
  });

  it('an inspect flag without --inspect exits 2, naming the flag and the fix', async () => {
    const r = await runCli(['mtls', '--listen', '127.0.0.1:0', '--admin', 'off', ...tlsFlags(), '--ca-dir', certs]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--ca-dir is an inspect flag, and mtls intercepts TLS only with --inspect: add --inspect/);
  });

  it('--inspect is mtls\'s: forward refuses it with exit 2', async () => {
    const r = await runCli(['forward', '--inspect', '--listen', '127.0.0.1:0', '--admin', 'off']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--inspect'/);
  });
});
