import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { createCA, issueCert, issueLeaf, writeMtlsBundle, type KeyType } from '../../../src/certs/index.js';
import { withTempDir } from './helpers.js';

interface Pem {
  ca: string;
  cert: string;
  key: string;
}

interface Outcome {
  ok: boolean;
  data: string;
  error?: string;
}

/** A server requiring client certificates from `trust.ca`; it greets the client by its CN. */
async function withMtlsServer<T>(server: Pem, fn: (port: number, serverErrors: string[]) => Promise<T>): Promise<T> {
  const errors: string[] = [];
  const srv = tls.createServer({ ...server, requestCert: true, rejectUnauthorized: true }, (socket) => {
    const peer = socket.getPeerCertificate();
    socket.end(`hello ${peer.subject?.CN}`);
  });
  srv.on('tlsClientError', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    return await fn((srv.address() as AddressInfo).port, errors);
  } finally {
    srv.close();
    await once(srv, 'close');
  }
}

function connect(port: number, options: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    let data = '';
    let error: string | undefined;
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
    socket.on('close', () => resolve({ ok: error === undefined && data.startsWith('hello'), data, error }));
  });
}

async function bundle(dir: string, keyType: KeyType): Promise<Record<string, string>> {
  await writeMtlsBundle(dir, { keyType });
  const files: Record<string, string> = {};
  for (const name of ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key']) files[name] = await readFile(join(dir, name), 'utf8');
  return files;
}

for (const keyType of ['ec', 'rsa'] as const) {
  test(`mTLS handshake with the ${keyType} bundle: the right client gets in, others do not`, () =>
    withTempDir(async (dir) => {
      const f = await bundle(dir, keyType);
      const serverPem = { ca: f['ca.crt']!, cert: f['server.crt']!, key: f['server.key']! };
      await withMtlsServer(serverPem, async (port, serverErrors) => {
        // Verification stays on: the client checks the proxy against ca.crt and the IP SAN.
        const good = await connect(port, { ca: f['ca.crt'], cert: f['client.crt'], key: f['client.key'] });
        assert.deepEqual(good, { ok: true, data: 'hello egresskit client', error: undefined });
        const byName = await connect(port, { ca: f['ca.crt'], cert: f['client.crt'], key: f['client.key'], servername: 'localhost' });
        assert.equal(byName.ok, true);
        assert.deepEqual(serverErrors, []);

        const anonymous = await connect(port, { ca: f['ca.crt'] });
        assert.equal(anonymous.ok, false);
        assert.equal(anonymous.data, '');
        assert.ok(anonymous.error, 'the client sees the rejection');
        assert.equal(serverErrors.length, 1);

        const strangerCA = await createCA();
        const stranger = await issueCert({ ca: strangerCA, kind: 'client', cn: 'egresskit client' });
        const foreign = await connect(port, { ca: f['ca.crt'], cert: stranger.certPem, key: stranger.keyPem });
        assert.equal(foreign.ok, false);
        assert.equal(foreign.data, '');
        assert.equal(serverErrors.length, 2);

        // And the other direction: a client that trusts another CA refuses the proxy.
        const distrust = await connect(port, { ca: strangerCA.certPem, cert: f['client.crt'], key: f['client.key'] });
        assert.equal(distrust.ok, false);
        // The server sends its CA along (it is in its `ca` list), so OpenSSL names the root.
        assert.ok(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'].includes(distrust.error ?? ''), distrust.error);
      });
    }));
}

test('a server certificate is not accepted as a client certificate (EKU)', () =>
  withTempDir(async (dir) => {
    const f = await bundle(dir, 'ec');
    await withMtlsServer({ ca: f['ca.crt']!, cert: f['server.crt']!, key: f['server.key']! }, async (port, serverErrors) => {
      const outcome = await connect(port, { ca: f['ca.crt'], cert: f['server.crt'], key: f['server.key'] });
      assert.equal(outcome.ok, false);
      assert.equal(serverErrors.length, 1);
    });
  }));

test('a minted leaf passes hostname verification for its host only', async () => {
  const ca = await createCA();
  const leaf = issueLeaf({ caCert: ca.cert, caKey: createPrivateKey(ca.keyPem), host: 'intercepted.example' });
  const srv = tls.createServer({ cert: leaf.certPem + ca.certPem, key: leaf.keyPem }, (s) => s.end('hello from leaf'));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    const port = (srv.address() as AddressInfo).port;
    const good = await connect(port, { ca: ca.certPem, servername: 'intercepted.example' });
    assert.deepEqual(good, { ok: true, data: 'hello from leaf', error: undefined });
    const wrongHost = await connect(port, { ca: ca.certPem, servername: 'other.example' });
    assert.equal(wrongHost.error, 'ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    srv.close();
    await once(srv, 'close');
  }
});
