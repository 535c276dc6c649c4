import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startHttpsUpstream, type Upstream } from '../helpers/upstream.js';

interface Summary {
  method: string;
  url: string;
  host: string;
  status: number | null;
  kind: string;
  verdict: string | null;
  protocol: string;
  passthrough: boolean;
  error: { code: string } | null;
}

/**
 * The UI's list must also show what never reached interception: refused requests, passed-through
 * tunnels and clients that do not trust the CA. Before, the store held captured exchanges only
 * and those had no row at all.
 */
describe('inspect: refused, passed-through and failed tunnels are flows too', () => {
  let pki: TestPki;
  let https: Upstream;
  let proxy: CliProxy;
  let ui: string;
  before(async () => {
    pki = await makeTestPki('egk-recflows');
    https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    const caDir = await mkdtemp(join(tmpdir(), 'egk-recflows-ca-'));
    proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', '127.0.0.1:0', '--ca-dir', caDir,
      '--upstream-ca', pki.caFile, '--allow', 'localhost', '--allow', '127.0.0.1', '--allow-private',
      '--passthrough', '127.0.0.1', '--connect-ports', `${https.port},80`,
    ]);
    const listening = await proxy.waitForLog((l) => l.event === 'listening');
    ui = `http://127.0.0.1:${/:(\d+)$/.exec(String(listening.ui))![1]}`;
  });
  after(async () => {
    await proxy?.stop();
    await https?.close();
  });

  const flows = async (): Promise<Summary[]> => ((await (await fetch(`${ui}/api/flows`)).json()) as { flows: Summary[] }).flows;
  async function waitFor(pred: (f: Summary) => boolean): Promise<Summary> {
    for (let i = 0; i < 50; i++) {
      const hit = (await flows()).find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`no such flow; the store has ${JSON.stringify(await flows(), null, 1)}`);
  }

  it('a CONNECT the policy refuses is a denied tunnel flow with its 403', async () => {
    const r = await curl(['-x', proxy.url, `https://refused.test:${https.port}/`]);
    assert.notEqual(r.code, 0);
    const f = await waitFor((x) => x.host === 'refused.test');
    assert.deepEqual([f.method, f.status, f.kind, f.verdict, f.protocol, f.error?.code], ['CONNECT', 403, 'tunnel', 'denied', 'tunnel', 'policy_denied']);
  });

  it('a plain-HTTP request the policy refuses is a denied exchange flow', async () => {
    const r = await curl(['-x', proxy.url, 'http://refused-plain.test/x']);
    assert.equal(r.status, 403);
    const f = await waitFor((x) => x.host === 'refused-plain.test');
    assert.deepEqual([f.method, f.status, f.kind, f.verdict, f.protocol], ['GET', 403, 'exchange', 'denied', 'h1']);
  });

  it('a passed-through tunnel is a flow marked passthrough', async () => {
    const r = await curl(['-x', proxy.url, '--cacert', pki.caFile, `https://127.0.0.1:${https.port}/`]);
    assert.equal(r.status, 200, r.stderr);
    const f = await waitFor((x) => x.host === '127.0.0.1' && x.kind === 'tunnel');
    assert.equal(f.passthrough, true);
    assert.equal(f.verdict, 'allowed');
    assert.equal(f.status, 200);
  });

  it('a client that does not trust the CA leaves a failed tunnel flow, and an intercepted exchange only its own row', async () => {
    const bad = await curl(['-x', proxy.url, `https://localhost:${https.port}/untrusted`]);
    assert.notEqual(bad.code, 0);
    const f = await waitFor((x) => x.host === 'localhost' && x.kind === 'tunnel');
    assert.equal(f.error?.code, 'client_tls');
    const before = (await flows()).filter((x) => x.host === 'localhost').length;
    const ok = await curl(['-x', proxy.url, '--proxy-insecure', '-k', `https://localhost:${https.port}/fine`]);
    assert.equal(ok.status, 200, ok.stderr);
    const row = await waitFor((x) => x.url.endsWith('/fine'));
    assert.equal(row.kind, 'exchange');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await flows()).filter((x) => x.host === 'localhost').length, before + 1, 'one row for the intercepted exchange, none for its tunnel');
  });
});
