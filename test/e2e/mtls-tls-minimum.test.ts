import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions, type Server } from 'node:tls';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { run } from '../helpers/exec.js';

// The proxy's own `minVersion: 'TLSv1.2'` is what refuses TLS 1.1, not anybody's defaults. Both
// the other refusals are taken away: the client offers only TLS 1.1 at OpenSSL security level 0
// (OpenSSL 3 disables TLS < 1.2 from level 1), and the proxy runs with Node's own defaults
// lowered (--tls-min-v1.0, ciphers at level 0), as an operator's NODE_OPTIONS could. A control
// server with no minimum shows the same client does get TLS 1.1 when the server allows it.
const LOWERED = '--tls-min-v1.0 --tls-cipher-list=DEFAULT@SECLEVEL=0';
const TLS11: ConnectionOptions = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' };

interface Files {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** A TLS handshake from Node: the protocol it settled on, or the error code. */
function handshake(port: number, files: Files, extra: ConnectionOptions): Promise<{ protocol: string | null } | { error: string }> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: files.ca, cert: files.cert, key: files.key, ...extra }, () => {
      resolve({ protocol: s.getProtocol() });
      s.destroy();
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

function opensslTls11(port: number, caFile: string) {
  return run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0', '-CAfile', caFile], {}, 10_000);
}

describe('mtls: TLS 1.2 is the minimum, whatever the process defaults and the client offer', () => {
  let certs: string;
  let volume: string;
  let files: Files;
  let proxy: CliProxy;
  let control: Server;
  let controlPort: number;

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-tlsmin-'));
    certs = join(dir, 'certs');
    const made = await runCli(['certs', 'mtls', '--out', certs]);
    assert.equal(made.code, 0, made.stderr);
    const [ca, cert, key, serverCert, serverKey] = await Promise.all(['ca.crt', 'client.crt', 'client.key', 'server.crt', 'server.key'].map((f) => readFile(join(certs, f))));
    files = { ca: ca!, cert: cert!, key: key! };
    // A Secret-style folder (tls.crt, tls.key, ca.crt) the proxy reloads from.
    volume = await mkdtemp(join(tmpdir(), 'egk-tlsmin-secret-'));
    await Promise.all([writeFile(join(volume, 'tls.crt'), serverCert!), writeFile(join(volume, 'tls.key'), serverKey!), writeFile(join(volume, 'ca.crt'), ca!)]);
    const config = join(dir, 'egresskit.yaml');
    await writeFile(config, `tls:\n  dir: ${volume}\n  reloadInterval: 200ms\n`);
    proxy = await startCli(['mtls', '-c', config, '--listen', '127.0.0.1:0', '--admin', 'off'], { NODE_OPTIONS: LOWERED });
    control = createTlsServer({ cert: serverCert, key: serverKey, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end());
    await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
    controlPort = (control.address() as AddressInfo).port;
  });
  after(async () => {
    await proxy?.stop();
    await new Promise((r) => control?.close(r));
  });

  it('the client can do TLS 1.1: a server without a minimum accepts it (Node and openssl)', async () => {
    assert.deepEqual(await handshake(controlPort, files, TLS11), { protocol: 'TLSv1.1' });
    const r = await opensslTls11(controlPort, join(certs, 'ca.crt'));
    assert.match(r.stdout, /Protocol *: TLSv1\.1/, r.stdout + r.stderr);
  });

  it('the proxy refuses that TLS 1.1 client (protocol_version alert), and takes TLS 1.2 from it', async () => {
    assert.deepEqual(await handshake(proxy.port, files, TLS11), { error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    const line = await proxy.waitForLog((l) => l.event === 'tls_error' && /below 1\.2/.test(String(l.error_detail)));
    assert.equal(line.error, 'tls_handshake');
    const r = await opensslTls11(proxy.port, join(certs, 'ca.crt'));
    assert.notEqual(r.code, 0, 'openssl s_client -tls1_1 is refused');
    assert.match(r.stdout + r.stderr, /alert protocol version/);
    // The same client, certificate and ciphers at TLS 1.2: only the version was in the way.
    assert.deepEqual(await handshake(proxy.port, files, { ...TLS11, maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' }), { protocol: 'TLSv1.2' });
  });

  it('after the certificates reload, the minimum still holds', async () => {
    // Text outside the PEM block changes the files' digest, not what they mean: one atomic
    // write is a reload without a window where half of a new set is read.
    await writeFile(join(volume, 'ca.crt'), Buffer.concat([files.ca, Buffer.from('\n# rotated\n')]));
    await proxy.waitForLog((l) => l.event === 'reloaded', 5000);
    assert.deepEqual(await handshake(proxy.port, files, TLS11), { error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    assert.deepEqual(await handshake(proxy.port, files, { minVersion: 'TLSv1.2' }), { protocol: 'TLSv1.3' });
  });
});
