import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startHttpsUpstream, startHttpUpstream, type Upstream } from '../helpers/upstream.js';

export interface InspectFixture {
  proxy: CliProxy;
  pki: TestPki;
  https: Upstream;
  plain: Upstream;
  caDir: string;
  /** http://127.0.0.1:PORT of the UI (PORT only when bound beyond loopback). */
  ui: string;
  uiPort: number;
  /** curl through the proxy, trusting its CA. */
  curlVia(args: string[]): ReturnType<typeof curl>;
  close(): Promise<void>;
}

/** An inspect proxy started from the CLI, with an HTTPS and a plain upstream on loopback. */
export async function startInspect(extra: string[] = [], config?: string): Promise<InspectFixture> {
  const pki = await makeTestPki('egk-browser');
  const https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
  const plain = await startHttpUpstream();
  const caDir = await mkdtemp(join(tmpdir(), 'egk-browser-ca-'));
  const args = [
    'inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ca-dir', caDir, '--upstream-ca', pki.caFile,
    '--allow-private', '--connect-ports', `${https.port},${plain.port}`,
  ];
  if (!extra.includes('--ui')) args.push('--ui', '127.0.0.1:0');
  if (config !== undefined) {
    const file = join(caDir, 'egresskit.yaml');
    await writeFile(file, config);
    args.push('--config', file);
  }
  let proxy: CliProxy;
  try {
    proxy = await startCli([...args, ...extra]);
  } catch (err) {
    // Open upstreams would keep the test process alive after the failure.
    await Promise.all([https.close(), plain.close()]);
    throw err;
  }
  const listening = await proxy.waitForLog((l) => l.event === 'listening');
  const uiPort = Number(/:(\d+)$/.exec(String(listening.ui))![1]);
  return {
    proxy,
    pki,
    https,
    plain,
    caDir,
    ui: `http://127.0.0.1:${uiPort}`,
    uiPort,
    curlVia: (a) => curl(['--proxy', proxy.url, '--cacert', join(caDir, 'ca.crt'), ...a]),
    close: async () => {
      await proxy.stop();
      await Promise.all([https.close(), plain.close()]);
    },
  };
}
