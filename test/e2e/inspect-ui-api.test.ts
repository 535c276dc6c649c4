import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startHttpsUpstream, type Upstream } from '../helpers/upstream.js';

function portOf(address: unknown): number {
  return Number(/:(\d+)$/.exec(String(address))![1]);
}

interface Listed {
  flows: Array<{ id: string; url: string; status: number | null; state: string }>;
  matched: number;
}

describe('inspect UI API: filters, SSE, HAR and flows export --filter (real CLI, curl)', () => {
  let pki: TestPki;
  let https: Upstream;
  let caDir: string;
  let proxy: CliProxy;
  let ui: string;

  before(async () => {
    pki = await makeTestPki('egk-ui-api');
    https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    caDir = await mkdtemp(join(tmpdir(), 'egk-ui-api-'));
    proxy = await startCli(['inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', '127.0.0.1:0', '--ca-dir', caDir, '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', String(https.port)]);
    ui = `http://127.0.0.1:${portOf((await proxy.waitForLog((l) => l.event === 'listening')).ui)}`;
    const through = (path: string, extra: string[] = []) => curl(['--cacert', join(caDir, 'ca.crt'), '-x', proxy.url, ...extra, `${https.origin}${path}`]);
    assert.equal((await through('/echo?one')).status, 200);
    assert.equal((await through('/status/503')).status, 503);
    assert.equal((await through('/echo?posted', ['-H', 'content-type: application/json', '--data', '{"order":"needle-42"}'])).status, 200);
    // Flows finish just after the client has its last byte.
    for (let i = 0; i < 100; i++) {
      const l = (await (await fetch(`${ui}/api/flows`)).json()) as Listed;
      if (l.flows.length >= 3 && l.flows.every((f) => f.state !== 'open')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    await proxy?.stop();
    await https?.close();
  });

  const list = async (filter: string): Promise<Listed> => {
    const r = await curl([`${ui}/api/flows?filter=${encodeURIComponent(filter)}`]);
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as Listed;
  };

  it('GET api/flows?filter= narrows the list (status class, body text, method and header)', async () => {
    assert.deepEqual((await list('~c 5xx')).flows.map((f) => f.url), [`${https.origin}/status/503`]);
    assert.deepEqual((await list('~bq needle-42')).flows.map((f) => f.url), [`${https.origin}/echo?posted`]);
    assert.deepEqual((await list('~m POST & ~h content-type json')).flows.map((f) => f.url), [`${https.origin}/echo?posted`]);
    assert.equal((await list('~d localhost & !~c 5xx')).matched, 2);
  });

  it('a bad filter answers 400 with the error and its position', async () => {
    const r = await curl([`${ui}/api/flows?filter=${encodeURIComponent('~d localhost & (~c 5xx')}`]);
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { error: 'bad filter: the ( at 15 is not closed', position: 22, filter: '~d localhost & (~c 5xx' });
  });

  it('api/events?filter= streams only the matching flows', async () => {
    const ac = new AbortController();
    const res = await fetch(`${ui}/api/events?filter=${encodeURIComponent('~u /status/418')}`, { signal: ac.signal });
    const reader = res.body!.getReader();
    let text = '';
    const reading = (async () => {
      while (!text.includes('/status/418')) text += new TextDecoder().decode((await reader.read()).value);
    })();
    await curl(['--cacert', join(caDir, 'ca.crt'), '-x', proxy.url, `${https.origin}/echo?not-this-one`]);
    await curl(['--cacert', join(caDir, 'ca.crt'), '-x', proxy.url, `${https.origin}/status/418`]);
    await reading;
    ac.abort();
    assert.ok(!text.includes('not-this-one'), 'a flow that does not match is not streamed');
  });

  it('api/flows.har?filter= and egresskit flows export --filter write only the matching flows', async () => {
    const r = await curl([`${ui}/api/flows.har?filter=${encodeURIComponent('~c 503')}`]);
    const har = JSON.parse(r.body) as { log: { entries: Array<{ request: { url: string } }> } };
    assert.deepEqual(har.log.entries.map((e) => e.request.url), [`${https.origin}/status/503`]);
    const file = join(caDir, 'filtered.har');
    const out = await runCli(['flows', 'export', '--har', file, '--ui', ui, '--filter', '~m POST']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, `wrote 1 flows matching ~m POST to ${file}\n`);
    const written = JSON.parse(await readFile(file, 'utf8')) as { log: { entries: Array<{ request: { method: string } }> } };
    assert.deepEqual(written.log.entries.map((e) => e.request.method), ['POST']);
  });

  it('flows export --filter with a typo exits 2 and points at it', async () => {
    const out = await runCli(['flows', 'export', '--har', join(caDir, 'x.har'), '--ui', ui, '--filter', '~m POST & ~c 6xx']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /--filter: ~c takes a status code.*\n {2}~m POST & ~c 6xx\n {2}( {13})\^/);
  });
});

describe('inspect UI access (real CLI, curl)', () => {
  let caDir: string;
  before(async () => {
    caDir = await mkdtemp(join(tmpdir(), 'egk-ui-access-'));
  });
  const start = (extra: string[], env: NodeJS.ProcessEnv = {}) =>
    startCli(['inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ca-dir', caDir, ...extra], env);
  const uiOf = async (p: CliProxy) => portOf((await p.waitForLog((l) => l.event === 'listening')).ui);

  it('a UI beyond loopback: 401 without the token; the token made on the first start is kept across a restart', async () => {
    let token = '';
    for (const expected of ['generated', 'kept']) {
      const p = await start(['--ui', '0.0.0.0:0']);
      try {
        const l = await p.waitForLog((x) => x.event === 'listening');
        assert.equal(l.ui_token_source, expected);
        const port = portOf(l.ui);
        const now = (await readFile(join(caDir, 'ui-token'), 'utf8')).trim();
        if (token) assert.equal(now, token, 'the same token after a restart');
        token = now;
        assert.equal((await curl([`http://127.0.0.1:${port}/api/flows`])).status, 401);
        assert.equal((await curl(['-H', `Authorization: Bearer ${token}`, `http://127.0.0.1:${port}/api/flows`])).status, 200);
      } finally {
        await p.stop();
      }
    }
  });

  it('EGRESSKIT_UI_TOKEN and --ui-token-file give the token; a short one stops the start with the fix', async () => {
    const envToken = 'env-token-0123456789';
    const p = await start(['--ui', '0.0.0.0:0'], { EGRESSKIT_UI_TOKEN: envToken });
    try {
      const port = await uiOf(p);
      assert.equal((await curl(['-H', `Authorization: Bearer ${envToken}`, `http://127.0.0.1:${port}/api/flows`])).status, 200);
    } finally {
      await p.stop();
    }
    const file = join(caDir, 'mounted-token');
    await writeFile(file, 'file-token-0123456789\n');
    const q = await start(['--ui', '0.0.0.0:0', '--ui-token-file', file]);
    try {
      const port = await uiOf(q);
      assert.equal((await curl(['-H', 'Authorization: Bearer file-token-0123456789', `http://127.0.0.1:${port}/api/flows`])).status, 200);
    } finally {
      await q.stop();
    }
    await writeFile(file, 'short\n');
    const bad = await runCli(['inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ca-dir', caDir, '--ui', '0.0.0.0:0', '--ui-token-file', file]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /has 5 characters; use at least 16.*openssl rand/);
  });

  it('?token= on a page sets an HttpOnly SameSite=Strict cookie and redirects without it; the cookie then opens the API', async () => {
    const token = 'cookie-token-0123456789';
    const p = await start(['--ui', '0.0.0.0:0'], { EGRESSKIT_UI_TOKEN: token });
    try {
      const port = await uiOf(p);
      const jar = join(caDir, 'cookies.txt');
      const first = await curl(['-i', '-c', jar, `http://127.0.0.1:${port}/?filter=~c+5xx&token=${token}`]);
      assert.equal(first.status, 303);
      assert.match(first.body, /^location: \.\/\?filter=%7Ec\+5xx\r$/m);
      assert.match(first.body, /^set-cookie: egresskit_ui_token=[^;]+; Path=\/; HttpOnly; SameSite=Strict\r$/m);
      assert.equal((await curl(['-b', jar, `http://127.0.0.1:${port}/api/flows`])).status, 200);
      assert.equal((await curl([`http://127.0.0.1:${port}/api/flows`])).status, 401);
    } finally {
      await p.stop();
    }
  });

  it('a Host that is not allowed is refused, naming --ui-allowed-hosts; the flag lets it in', async () => {
    const p = await start(['--ui', '127.0.0.1:0', '--ui-allowed-hosts', 'egress.example.test']);
    try {
      const port = await uiOf(p);
      const refused = await curl(['-H', 'Host: rebound.example.test', `http://127.0.0.1:${port}/api/flows`]);
      assert.equal(refused.status, 403);
      assert.match(refused.body, /--ui-allowed-hosts rebound\.example\.test/);
      assert.equal((await curl(['-H', `Host: egress.example.test:${port}`, `http://127.0.0.1:${port}/api/flows`])).status, 200);
    } finally {
      await p.stop();
    }
  });

  it('--ui-base-path: everything under the prefix, a redirect for the missing slash, 404 outside; flows export follows it', async () => {
    const p = await start(['--ui', '127.0.0.1:0', '--ui-base-path', '/egress']);
    try {
      const port = await uiOf(p);
      const base = `http://127.0.0.1:${port}`;
      const slash = await curl(['-i', `${base}/egress?filter=~e`]);
      assert.equal(slash.status, 308);
      assert.match(slash.body, /^location: \.\/egress\/\?filter=~e\r$/m);
      assert.equal((await curl(['-L', `${base}/egress`])).status, 200);
      assert.equal((await curl([`${base}/egress/api/flows?filter=~all`])).status, 200);
      const outside = await curl([`${base}/api/flows`]);
      assert.equal(outside.status, 404);
      assert.match(outside.body, /served under \/egress\/ \(--ui-base-path\)/);
      const out = await runCli(['flows', 'export', '--har', join(caDir, 'base.har'), '--ui', `${base}/egress`]);
      assert.equal(out.code, 0, out.stderr);
    } finally {
      await p.stop();
    }
  });
});
