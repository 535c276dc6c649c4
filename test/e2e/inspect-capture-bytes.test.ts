import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startHttpsUpstream, type Upstream } from '../helpers/upstream.js';

interface Body {
  size: number;
  capturedSize: number;
  truncated: boolean;
  utf8: string | null;
}
interface FlowJson {
  id: string;
  url: string;
  state: string;
  request: { body: Body };
  response: { body: Body } | null;
}

const CAP = 100;

describe('inspect: --capture-bytes limits what a flow keeps of each body, not what goes through', () => {
  let pki: TestPki;
  let https: Upstream;
  let caDir: string;
  let proxy: CliProxy;
  let ui: string;

  before(async () => {
    pki = await makeTestPki('egk-capture');
    https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    caDir = await mkdtemp(join(tmpdir(), 'egk-capture-ca-'));
    proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', '127.0.0.1:0', '--ca-dir', caDir,
      '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', String(https.port), '--capture-bytes', String(CAP),
    ]);
    ui = `http://127.0.0.1:${String((await proxy.waitForLog((l) => l.event === 'listening')).ui).split(':').pop()}`;
  });
  after(async () => {
    await proxy?.stop();
    await https?.close();
  });

  /** The finished flow for a URL, from the UI's API. */
  async function flowOf(url: string): Promise<FlowJson> {
    for (let i = 0; i < 100; i++) {
      const list = (await (await fetch(`${ui}/api/flows`)).json()) as { flows: FlowJson[] };
      const f = list.flows.find((x) => x.url === url);
      if (f) {
        const detail = (await (await fetch(`${ui}/api/flows/${f.id}`)).json()) as FlowJson;
        if (detail.state !== 'open') return detail;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no finished flow for ${url}`);
  }

  const through = (args: string[]) => curl(['-x', proxy.url, '--cacert', join(caDir, 'ca.crt'), ...args]);

  it('a request and a response longer than the cap: the first CAP bytes kept, the full size counted, the whole body delivered', async () => {
    const upload = 'u'.repeat(5000);
    const url = `https://localhost:${https.port}/echo?capture=upload`;
    const r = await through(['--data-binary', upload, url]);
    assert.equal(r.status, 200, r.stderr);
    assert.equal((JSON.parse(r.body) as { bodyLength: number }).bodyLength, 5000, 'the upstream got every byte');
    const f = await flowOf(url);
    assert.deepEqual(
      { size: f.request.body.size, capturedSize: f.request.body.capturedSize, truncated: f.request.body.truncated, utf8: f.request.body.utf8 },
      { size: 5000, capturedSize: CAP, truncated: true, utf8: 'u'.repeat(CAP) },
    );

    const bytesUrl = `https://localhost:${https.port}/bytes?n=3000`;
    const down = await through([bytesUrl]);
    assert.equal(down.body.length, 3000, 'the client got every byte');
    const g = await flowOf(bytesUrl);
    assert.equal(g.response!.body.size, 3000);
    assert.equal(g.response!.body.capturedSize, CAP);
    assert.equal(g.response!.body.truncated, true);
  });

  it('a body within the cap is kept whole', async () => {
    const url = `https://localhost:${https.port}/bytes?n=${CAP - 1}`;
    assert.equal((await through([url])).status, 200);
    const f = await flowOf(url);
    assert.deepEqual([f.response!.body.size, f.response!.body.capturedSize, f.response!.body.truncated], [CAP - 1, CAP - 1, false]);
  });
});
