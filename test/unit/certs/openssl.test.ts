import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCA, issueLeaf, writeMtlsBundle } from '../../../src/certs/index.js';
import { needOpenssl } from '../../helpers/prerequisites.js';
import { execFileAsync, withTempDir } from './helpers.js';

const openssl = await needOpenssl();
const skip = openssl.skip;

async function verify(dir: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), ...args], { cwd: dir });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

for (const keyType of ['ec', 'rsa'] as const) {
  test(`openssl verifies the ${keyType} bundle with the right purposes`, { skip }, () =>
    withTempDir(async (dir) => {
      openssl.require();
      await writeMtlsBundle(dir, { keyType });
      const cases: [string[], boolean][] = [
        [['server.crt'], true],
        [['-purpose', 'sslserver', 'server.crt'], true],
        [['-purpose', 'sslclient', 'client.crt'], true],
        // EKU keeps each certificate to its role.
        [['-purpose', 'sslclient', 'server.crt'], false],
        [['-purpose', 'sslserver', 'client.crt'], false],
      ];
      for (const [args, expected] of cases) {
        const result = await verify(dir, args);
        assert.equal(result.ok, expected, `openssl verify ${args.join(' ')}: ${result.output}`);
        if (expected) assert.match(result.output, /: OK/);
      }
    }));
}

test('openssl verifies minted leaves (DNS, IP, long names)', { skip }, () =>
  withTempDir(async (dir) => {
    openssl.require();
    const ca = await createCA();
    await writeFile(join(dir, 'ca.crt'), ca.certPem);
    const caKey = createPrivateKey(ca.keyPem);
    const hosts = ['leaf.example', '192.0.2.1', '2001:db8::1', `${'x'.repeat(63)}.${'y'.repeat(40)}.example`];
    for (const [i, host] of hosts.entries()) {
      await writeFile(join(dir, `leaf${i}.crt`), issueLeaf({ caCert: ca.cert, caKey, host }).certPem);
      const result = await verify(dir, ['-purpose', 'sslserver', `leaf${i}.crt`]);
      assert.ok(result.ok, `${host}: ${result.output}`);
      const hostFlag = host.includes(':') || /^\d/.test(host) ? ['-verify_ip', host] : ['-verify_hostname', host];
      assert.ok((await verify(dir, [...hostFlag, `leaf${i}.crt`])).ok, `${host} matches its own certificate`);
    }
    const { stdout } = await execFileAsync('openssl', ['x509', '-in', join(dir, 'leaf0.crt'), '-noout', '-text']);
    assert.match(stdout, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(stdout, /Key Usage: critical\s+Digital Signature/);
    assert.match(stdout, /TLS Web Server Authentication/);
  }));
