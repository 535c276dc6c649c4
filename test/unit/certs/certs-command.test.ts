import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { parse } from 'yaml';
import { registerCertsCommands } from '../../../src/cli/certs-command.js';
import { UsageError } from '../../../src/cli/usage-error.js';
import { fileMode, withTempDir } from './helpers.js';

async function run(...args: string[]): Promise<string> {
  let out = '';
  const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerCertsCommands(program, { write: (s) => (out += s) });
  await program.parseAsync(['certs', ...args], { from: 'user' });
  return out;
}

function usageError(pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

test('certs mtls writes the bundle and prints the curl command', () =>
  withTempDir(async (dir) => {
    const out = await run('mtls', '--out', dir);
    assert.match(out, /Wrote 8 files/);
    assert.ok(
      out.includes(
        `curl --proxy https://localhost:8443 --proxy-cacert ${join(dir, 'ca.crt')} --proxy-cert ${join(dir, 'client.crt')} --proxy-key ${join(dir, 'client.key')} https://example.com`,
      ),
      out,
    );
    await assert.rejects(run('mtls', '--out', dir), usageError(/refusing to overwrite existing files: .*Use --force/));
    await run('mtls', '--out', dir, '--force', '--san', 'proxy.egress.svc,10.0.0.9', '--san', 'proxy', '--days', '30');
    const server = new X509Certificate(await readFile(join(dir, 'server.crt')));
    assert.equal(server.subjectAltName, 'DNS:proxy.egress.svc, DNS:proxy, IP Address:10.0.0.9');
  }));

test('certs mtls names its proxy host after the first SAN and quotes odd paths', () =>
  withTempDir(async (tmp) => {
    const dir = join(tmp, 'with space');
    const out = await run('mtls', '--out', dir, '--san', '10.1.2.3');
    assert.ok(out.includes(`curl --proxy https://10.1.2.3:8443 --proxy-cacert '${join(dir, 'ca.crt')}'`), out);
  }));

const badInput: [string, string[], RegExp][] = [
  ['unknown key type', ['--key-type', 'dsa'], /unknown --key-type 'dsa'.*--key-type ec.*--key-type rsa/],
  ['non-numeric days', ['--days', 'abc'], /--days must be a whole number.*'abc'/],
  ['zero days', ['--days', '0'], /--days must be a whole number/],
  ['rsa bits for ec', ['--rsa-bits', '4096'], /--rsa-bits only applies to RSA keys/],
  ['odd rsa bits', ['--key-type', 'rsa', '--rsa-bits', '1024'], /--rsa-bits must be one of 2048, 3072, 4096/],
  ['bad SAN', ['--san', 'ok.example,not ok'], /invalid SAN 'not ok'.*--san/],
];
for (const [name, args, pattern] of badInput) {
  test(`certs mtls: ${name} is a UsageError and writes nothing`, () =>
    withTempDir(async (dir) => {
      await assert.rejects(run('mtls', '--out', join(dir, 'out'), ...args), usageError(pattern));
      assert.deepEqual(await readdir(dir), []);
    }));
}

test('certs ca and certs issue: CA once, then server and client certificates from it', () =>
  withTempDir(async (dir) => {
    const caDir = join(dir, 'ca');
    await run('ca', '--out', caDir, '--cn', 'team CA', '--days', '100');
    assert.deepEqual((await readdir(caDir)).sort(), ['ca.crt', 'ca.key']);
    assert.equal(fileMode((await stat(join(caDir, 'ca.key'))).mode), '0600');
    await assert.rejects(run('ca', '--out', caDir), usageError(/refusing to overwrite.*--force/));

    const out = join(dir, 'out');
    await run('issue', '--ca', caDir, '--kind', 'client', '--cn', 'api', '--san', 'spiffe://cluster.local/ns/payments/sa/api', '--out', out, '--name', 'api-client');
    await run('issue', '--ca', caDir, '--kind', 'server', '--cn', 'proxy', '--out', out);
    assert.deepEqual((await readdir(out)).sort(), ['api-client.crt', 'api-client.key', 'api-client.pem', 'server.crt', 'server.key', 'server.pem']);
    const client = new X509Certificate(await readFile(join(out, 'api-client.crt')));
    assert.equal(client.subjectAltName, 'URI:spiffe://cluster.local/ns/payments/sa/api');
    assert.equal(client.issuer, 'CN=team CA');
    assert.equal(new X509Certificate(await readFile(join(out, 'server.crt'))).subjectAltName, 'DNS:proxy');
    assert.equal(fileMode((await stat(join(out, 'server.pem'))).mode), '0600');
  }));

test('certs issue explains a missing CA, a bad kind and a bad name', () =>
  withTempDir(async (dir) => {
    const missing = join(dir, 'nope');
    await assert.rejects(run('issue', '--ca', missing, '--kind', 'client', '--cn', 'x', '--out', dir), usageError(/no CA in .*egresskit certs ca --out/));
    await assert.rejects(run('issue', '--ca', dir, '--kind', 'peer', '--cn', 'x', '--out', dir), usageError(/unknown --kind 'peer'/));
    await assert.rejects(run('issue', '--ca', dir, '--kind', 'client', '--cn', 'x', '--out', dir, '--name', '../evil'), usageError(/--name '\.\.\/evil'/));
    await mkdir(join(dir, 'ca'));
    await run('ca', '--out', join(dir, 'ca'));
    await assert.rejects(run('issue', '--ca', join(dir, 'ca'), '--kind', 'server', '--cn', 'my proxy', '--out', dir), usageError(/needs at least one SAN.*--san/));
  }));

test('certs show describes each certificate and mentions other blocks', () =>
  withTempDir(async (dir) => {
    await run('mtls', '--out', dir);
    const out = await run('show', join(dir, 'client.pem'));
    assert.match(out, /^Certificate 1 of 2\n {2}Subject: {7}CN=egresskit client\n/);
    assert.match(out, /Ext key usage: clientAuth/);
    assert.match(out, /not shown\): PRIVATE KEY/);
    await assert.rejects(run('show', join(dir, 'missing.pem')), usageError(/cannot read certificate file '.*missing\.pem': no such file \(ENOENT\)/));
    await assert.rejects(run('show', join(dir, 'ca.key')), usageError(/contains no PEM certificate/));
    await assert.rejects(run('show', dir), usageError(/it is a directory/));
  }));

test('certs k8s-secret prints a Secret and rejects unreadable files', () =>
  withTempDir(async (dir) => {
    await run('mtls', '--out', dir);
    const yaml = await run('k8s-secret', '--name', 'proxy-tls', '--namespace', 'egress', '--cert', join(dir, 'server.crt'), '--key', join(dir, 'server.key'), '--ca', join(dir, 'ca.crt'));
    const doc = parse(yaml) as { type: string; metadata: { name: string; namespace: string }; data: Record<string, string> };
    assert.equal(doc.type, 'kubernetes.io/tls');
    assert.deepEqual(doc.metadata, { name: 'proxy-tls', namespace: 'egress' });
    assert.equal(Buffer.from(doc.data['ca.crt'] ?? '', 'base64').toString(), await readFile(join(dir, 'ca.crt'), 'utf8'));
    await assert.rejects(
      run('k8s-secret', '--name', 'x', '--cert', join(dir, 'nope.crt'), '--key', join(dir, 'server.key')),
      usageError(/cannot read --cert file/),
    );
    await assert.rejects(run('k8s-secret', '--name', 'x', '--cert', join(dir, 'server.crt'), '--key', join(dir, 'client.key')), usageError(/does not match/));
  }));
