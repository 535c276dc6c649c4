import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';

/**
 * timeouts.headers holds on the client-certificate listener once TLS is up, as on a plain one:
 * an authenticated client that sends nothing, or a request head a line at a time, is closed.
 */
describe('mtls: the header timeout applies after the TLS handshake', () => {
  let certs: string;
  let proxy: CliProxy;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-mtls-hto-'));
    certs = join(dir, 'certs');
    const made = await runCli(['certs', 'mtls', '--out', certs]);
    assert.equal(made.code, 0, made.stderr);
    const config = join(dir, 'egresskit.yaml');
    await writeFile(config, ['mode: mtls', 'timeouts:', '  headers: 1s'].join('\n'));
    proxy = await startCli([
      'mtls', '-c', config, '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private',
      '--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt'),
    ]);
  });
  after(async () => {
    await proxy?.stop();
  });

  async function authenticated(): Promise<TLSSocket> {
    const [ca, cert, key] = await Promise.all(['ca.crt', 'client.crt', 'client.key'].map((f) => readFile(join(certs, f))));
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: proxy.port, servername: 'localhost', ca, cert, key }, () => resolve(s));
      s.once('error', reject);
    });
  }

  /** Everything the proxy sent until it closed the connection; rejects if it is still open after `ms`. */
  function closedWithin(s: TLSSocket, ms: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let got = '';
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`the proxy still held the connection after ${ms} ms (timeouts.headers is 1s)`));
      }, ms);
      s.setEncoding('latin1');
      s.on('data', (d: string) => (got += d));
      s.on('error', () => undefined);
      s.once('close', () => {
        clearTimeout(timer);
        resolve(got);
      });
    });
  }

  it('a client with a valid certificate that sends nothing is closed', async () => {
    const s = await authenticated();
    await closedWithin(s, 8000);
  });

  it('a slowloris request head (a header line every 200 ms) is answered 408 and closed', async () => {
    const s = await authenticated();
    s.write('GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\n');
    const drip = setInterval(() => s.writable && s.write('X-Slow: 1\r\n'), 200);
    try {
      const answer = await closedWithin(s, 8000);
      assert.match(answer, /^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
    await proxy.waitForLog((l) => l.event === 'client_error' && l.error === 'request_timeout');
  });
});
