// egresskit as a test helper: prove that an app sends its traffic through HTTPS_PROXY, and
// catch it when it does not. Run after `npm run build`:
//
//   node --test examples/library-test/app-honours-proxy.test.mjs
//
// The proxy runs inside the test process on a free port; the app runs as a child process with
// HTTPS_PROXY pointing at it; proxy.recordStream() tells whether its request went through.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
// In your project: import { startProxy, createCA, issueCert } from 'egresskit';
// (this example runs from a clone, against the build in dist/)
import { createCA, issueCert, startProxy } from '../../dist/src/index.js';

const APP = fileURLToPath(new URL('./app.mjs', import.meta.url));

/** Runs the app with the given extra arguments and environment; resolves with its exit code and output. */
function runApp(args, env) {
  // The machine's own proxy variables must not decide the outcome.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(https?|all|no)_proxy$/i.test(k)));
  return new Promise((resolve) => {
    execFile(process.execPath, [APP, ...args], { env: { ...clean, ...env }, timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/**
 * Waits on `stream` (opened with { replay: false } before the app ran, so only the app's
 * records are in it) for a successful tunnel to `target` (host:port). A CONNECT record is
 * published when the tunnel closes, so this also waits for the app to hang up.
 */
async function assertWentThroughProxy(stream, target, timeoutMs = 2000) {
  const seen = [];
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve({ done: true, timedOut: true }), timeoutMs)));
  try {
    for (;;) {
      const next = await Promise.race([stream.next(), timeout]);
      if (next.done) break;
      const r = next.value;
      seen.push(`${r.kind} ${r.target ?? '?'} ${r.error ?? r.status ?? ''}`);
      if (r.kind === 'connect' && r.target === target && r.error === undefined && r.decision?.verdict === 'allow') return r;
    }
  } finally {
    clearTimeout(timer);
    await stream.return();
  }
  assert.fail(`no request to ${target} went through the proxy within ${timeoutMs} ms; the proxy saw: ${seen.length ? seen.join(', ') : 'nothing'}`);
}

let upstream;
let upstreamHits = 0;
let proxy;
let caFile;

before(async () => {
  // A local HTTPS destination with a certificate from a CA of our own; the app trusts that CA
  // through NODE_EXTRA_CA_CERTS (verification stays on).
  const dir = await mkdtemp(join(tmpdir(), 'egresskit-example-'));
  const ca = await createCA({ cn: 'example upstream CA' });
  const cert = await issueCert({ ca, kind: 'server', cn: 'localhost', sans: ['127.0.0.1'] });
  caFile = join(dir, 'ca.crt');
  await writeFile(caFile, ca.certPem);
  upstream = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    upstreamHits++;
    res.end('hello\n');
  });
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  // The destination is on loopback, so the proxy must be allowed to reach it: private
  // addresses and its port (by default egresskit refuses both).
  proxy = await startProxy({
    listen: '127.0.0.1:0',
    admin: 'off',
    policy: { allowPrivate: true, connectPorts: [upstream.address().port] },
  });
});

after(async () => {
  await proxy?.close(0);
  await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve()));
});

const appEnv = () => ({
  HTTPS_PROXY: proxy.url,
  TARGET_URL: `https://127.0.0.1:${upstream.address().port}/`,
  NODE_EXTRA_CA_CERTS: caFile,
});

test('the app sends its HTTPS request through HTTPS_PROXY', async () => {
  const watch = proxy.recordStream({ replay: false });
  const run = await runApp([], appEnv());
  assert.equal(run.code, 0, run.stderr);
  const record = await assertWentThroughProxy(watch, `127.0.0.1:${upstream.address().port}`);
  assert.equal(record.status, 200);
});

test('an app that ignores HTTPS_PROXY is caught', async () => {
  const hits = upstreamHits;
  const watch = proxy.recordStream({ replay: false });
  const run = await runApp(['--ignore-proxy'], appEnv());
  // The request itself succeeded: only the proxy's records show that it went around the proxy.
  assert.equal(run.code, 0, run.stderr);
  assert.equal(upstreamHits, hits + 1);
  await assert.rejects(assertWentThroughProxy(watch, `127.0.0.1:${upstream.address().port}`, 1000), /no request to 127\.0\.0\.1:\d+ went through the proxy/);
});
