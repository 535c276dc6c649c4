import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { openSocket, readUntil } from '../helpers/raw.js';
import { startHttpUpstream, type Upstream } from '../helpers/upstream.js';

// Records every module the CLI resolves (ESM loader hook, in the loader's own thread). The CLI
// is the esbuild bundle, so what it resolves are chunk files; dist/bundle-meta.json says which
// sources each chunk holds.
const RECORDER = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(\${JSON.stringify(process.env.EGRESSKIT_TEST_MODULE_LOG)}, r.url + '\\\\n');
  return r;
}\`));
`;

/** What forward mode must not load at start-up or for a tunnel, and why it is heavy. */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/node_modules\/undici\//, 'undici (plain-HTTP forwarding only; loaded by the first absolute-URI request)'],
  [/node_modules\/(@kubernetes-models|kubernetes-models)\//, 'Kubernetes manifests (k8s commands)'],
  [/node_modules\/(@peculiar|reflect-metadata|pvtsutils|asn1js|@noble|tsyringe)\//, 'X.509 generation (certs, inspect CA)'],
  [/node_modules\/pino-pretty\//, 'pino-pretty (only with --log-format pretty)'],
  [/node_modules\/ws\//, 'ws (inspect UI and WebSocket capture)'],
  [/node_modules\/better-sqlite3\//, 'SQLite (inspect flow database)'],
  [/dist\/src\/inspect\//, 'interception'],
  [/dist\/src\/flows\/(?!filter\/)/, 'flow store'],
  [/dist\/src\/ui\/(?!guard\.js|ui-access\.js)/, 'inspect UI'],
  [/dist\/src\/doctor\/checks\//, 'doctor'],
  [/dist\/src\/k8s\/(render|inject|bases)/, 'Kubernetes rendering'],
  [/dist\/src\/certs\/(ca|issue|leaf|x509|bundle|mtls-bundle)\.js/, 'certificate generation'],
  // zod is imported as a namespace so the bundle keeps only what the config schema uses.
  [/node_modules\/zod\/v4\/locales\/(?!en\.js)/, "zod's locales other than en (error messages are English)"],
  [/node_modules\/zod\/v4\/classic\/from-json-schema/, "zod's JSON-schema import"],
  // prom-client's exemplars (never enabled) are all that needs it: scripts/bundle.mjs stands in.
  [/node_modules\/@opentelemetry\//, 'OpenTelemetry API (prom-client exemplars)'],
];

interface Meta {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

/** The sources in the chunks this process resolved so far. */
async function loadedSources(log: string): Promise<string[]> {
  const meta = JSON.parse(await readFile(join(REPO_ROOT, 'dist', 'bundle-meta.json'), 'utf8')) as Meta;
  const urls = new Set((await readFile(log, 'utf8')).split('\n').filter((u) => u.startsWith('file:')));
  const out: string[] = [];
  for (const url of urls) {
    const file = fileURLToPath(url);
    const chunk = Object.entries(meta.outputs).find(([path]) => join(REPO_ROOT, path) === file);
    // A module outside the bundle (dist/src/version.js, a node_modules package left external).
    if (!chunk) out.push(file);
    else out.push(...Object.keys(chunk[1].inputs));
  }
  return out;
}

function offences(sources: string[]): string[] {
  const found = new Set<string>();
  for (const s of sources) for (const [re, why] of FORBIDDEN) if (re.test(s)) found.add(`${why}: ${s}`);
  return [...found];
}

describe('start-up: forward mode loads only what it uses', () => {
  let upstream: Upstream;
  let proxy: CliProxy;
  let log: string;
  before(async () => {
    upstream = await startHttpUpstream();
    const dir = await mkdtemp(join(tmpdir(), 'egresskit-modules-'));
    const recorder = join(dir, 'recorder.mjs');
    log = join(dir, 'modules.log');
    await writeFile(recorder, RECORDER);
    await writeFile(log, '');
    proxy = await startCli(
      ['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--connect-ports', String(upstream.port)],
      { EGRESSKIT_TEST_MODULE_LOG: log, NODE_OPTIONS: `--import ${pathToFileURL(recorder).href}` },
    );
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  it('loads no interception, UI, flow store, certificate, Kubernetes or plain-HTTP client code for start-up and a tunnel', async () => {
    const s = await openSocket(proxy.port);
    s.write(`CONNECT 127.0.0.1:${upstream.port} HTTP/1.1\r\nHost: 127.0.0.1:${upstream.port}\r\n\r\n`);
    assert.match(await readUntil(s, '\r\n\r\n'), /^HTTP\/1\.1 200/);
    s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    assert.match(await readUntil(s, '\r\n\r\n'), /^HTTP\/1\.1 200/);
    s.destroy();
    await proxy.waitForLog((l) => l.method === 'CONNECT');
    const sources = await loadedSources(log);
    // The mapping works: the tunnel's relay is among what was loaded.
    assert.ok(sources.some((s) => s.endsWith('dist/src/upstream/tunnel.js')), `no tunnel code among ${sources.length} loaded sources`);
    assert.deepEqual(offences(sources), []);
  });

  it('the first absolute-URI request loads undici on demand and is answered', async () => {
    const s = await openSocket(proxy.port);
    s.write(`GET http://127.0.0.1:${upstream.port}/first HTTP/1.1\r\nHost: 127.0.0.1:${upstream.port}\r\nConnection: close\r\n\r\n`);
    assert.match(await readUntil(s, '\r\n\r\n'), /^HTTP\/1\.1 200/);
    s.destroy();
    assert.ok((await loadedSources(log)).some((src) => /node_modules\/undici\//.test(src)), 'undici was not loaded by a plain-HTTP request');
  });
});
