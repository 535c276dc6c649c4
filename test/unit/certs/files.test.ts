import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCA, loadCA, loadOrCreateCA, MTLS_FILES, parsePemBlocks, writeMtlsBundle } from '../../../src/certs/index.js';
import { errorWith, fileMode, withTempDir } from './helpers.js';

const SECRET = new Set(['ca.key', 'server.key', 'server.pem', 'client.key', 'client.pem']);

test('writeMtlsBundle writes exactly the eight files, keys 0600, in a 0700 dir', () =>
  withTempDir(async (tmp) => {
    const out = join(tmp, 'nested', 'mtls');
    const written = await writeMtlsBundle(out);
    assert.deepEqual(written, MTLS_FILES.map((f) => join(out, f)));
    assert.deepEqual((await readdir(out)).sort(), [...MTLS_FILES].sort());
    assert.equal(fileMode((await stat(out)).mode), '0700');
    for (const name of MTLS_FILES) {
      assert.equal(fileMode((await stat(join(out, name))).mode), SECRET.has(name) ? '0600' : '0644', name);
    }
  }));

test('*.pem holds certificate, CA certificate and key, in that order', () =>
  withTempDir(async (out) => {
    await writeMtlsBundle(out);
    const ca = await readFile(join(out, 'ca.crt'), 'utf8');
    for (const kind of ['server', 'client']) {
      const pem = await readFile(join(out, `${kind}.pem`), 'utf8');
      assert.equal(pem, (await readFile(join(out, `${kind}.crt`), 'utf8')) + ca + (await readFile(join(out, `${kind}.key`), 'utf8')));
      assert.deepEqual(parsePemBlocks(pem).map((b) => b.label), ['CERTIFICATE', 'CERTIFICATE', 'PRIVATE KEY']);
    }
    const server = new X509Certificate(await readFile(join(out, 'server.crt')));
    assert.equal(server.subject, 'CN=egresskit proxy');
    assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.equal(new X509Certificate(await readFile(join(out, 'client.crt'))).subject, 'CN=egresskit client');
  }));

test('key files are 0600 whatever the umask', () =>
  withTempDir(async (out) => {
    for (const mask of [0o000, 0o277]) {
      const previous = process.umask(mask);
      try {
        await writeMtlsBundle(out, { force: true });
      } finally {
        process.umask(previous);
      }
      for (const name of MTLS_FILES) {
        assert.equal(fileMode((await stat(join(out, name))).mode), SECRET.has(name) ? '0600' : '0644', `${name} with umask ${mask.toString(8)}`);
      }
    }
  }));

test('without force, one existing file stops everything and nothing is written', () =>
  withTempDir(async (out) => {
    await writeFile(join(out, 'server.key'), 'keep me', { mode: 0o644 });
    await assert.rejects(
      writeMtlsBundle(out),
      errorWith('FILES_EXIST', new RegExp(`refusing to overwrite existing files: ${join(out, 'server.key')} \\(nothing was written\\)\\. Use --force`)),
    );
    assert.deepEqual(await readdir(out), ['server.key']);
    assert.equal(await readFile(join(out, 'server.key'), 'utf8'), 'keep me');
  }));

test('with force, existing files are replaced (0600 again) and symlinks are not followed', () =>
  withTempDir(async (tmp) => {
    const out = join(tmp, 'out');
    await mkdir(out);
    const outside = join(tmp, 'outside.txt');
    await writeFile(outside, 'untouched');
    await writeFile(join(out, 'ca.key'), 'old', { mode: 0o644 });
    await symlink(outside, join(out, 'client.key'));

    const written = await writeMtlsBundle(out, { force: true });
    assert.equal(written.length, 8);
    assert.equal(await readFile(outside, 'utf8'), 'untouched');
    assert.match(await readFile(join(out, 'ca.key'), 'utf8'), /BEGIN PRIVATE KEY/);
    assert.equal(fileMode((await stat(join(out, 'ca.key'))).mode), '0600');
    assert.ok((await stat(join(out, 'client.key'))).isFile());
  }));

test('loadOrCreateCA creates once (key 0600, dir 0700) and returns the same CA afterwards', () =>
  withTempDir(async (tmp) => {
    const dir = join(tmp, 'state', 'ca');
    const first = await loadOrCreateCA(dir, { cn: 'inspect CA' });
    assert.equal(fileMode((await stat(dir)).mode), '0700');
    assert.equal(fileMode((await stat(join(dir, 'ca.key'))).mode), '0600');
    assert.equal(fileMode((await stat(join(dir, 'ca.crt'))).mode), '0644');
    const second = await loadOrCreateCA(dir, { cn: 'ignored once the CA exists' });
    const third = await loadCA(dir);
    for (const again of [second, third]) {
      assert.equal(again.certPem, first.certPem);
      assert.equal(again.keyPem, first.keyPem);
      assert.equal(again.cert.serialNumber, first.cert.serialNumber);
    }
    assert.equal(second.cert.subject, 'CN=inspect CA');
  }));

test('concurrent loadOrCreateCA calls agree on one CA', () =>
  withTempDir(async (dir) => {
    const results = await Promise.all(Array.from({ length: 6 }, () => loadOrCreateCA(dir)));
    const serials = new Set(results.map((r) => r.cert.serialNumber));
    assert.equal(serials.size, 1);
    assert.equal((await loadCA(dir)).cert.serialNumber, [...serials][0]);
  }));

test('loadCA explains what is wrong with the directory', () =>
  withTempDir(async (tmp) => {
    const empty = join(tmp, 'empty');
    await mkdir(empty);
    await assert.rejects(loadCA(empty), errorWith('CA_NOT_FOUND', /no CA in .*egresskit certs ca --out/));
    await assert.rejects(loadCA(join(tmp, 'missing')), errorWith('CA_NOT_FOUND', /no CA in/));

    const a = await createCA();
    const b = await createCA();
    const half = join(tmp, 'half');
    await mkdir(half);
    await writeFile(join(half, 'ca.key'), a.keyPem);
    await assert.rejects(loadCA(half), errorWith('CA_INCOMPLETE', /ca\.key exists but .*ca\.crt is missing/));

    const mixed = join(tmp, 'mixed');
    await mkdir(mixed);
    await writeFile(join(mixed, 'ca.crt'), a.certPem);
    await writeFile(join(mixed, 'ca.key'), b.keyPem);
    await assert.rejects(loadCA(mixed), errorWith('KEY_MISMATCH', /does not match/));

    const notPem = join(tmp, 'notpem');
    await mkdir(notPem);
    await writeFile(join(notPem, 'ca.crt'), 'hello');
    await writeFile(join(notPem, 'ca.key'), a.keyPem);
    await assert.rejects(loadCA(notPem), errorWith('NOT_PEM', /no PEM certificate/));
  }));

test('loadOrCreateCA never replaces a CA it cannot read', () =>
  withTempDir(async (dir) => {
    const a = await createCA();
    await writeFile(join(dir, 'ca.crt'), a.certPem);
    await assert.rejects(loadOrCreateCA(dir), errorWith('CA_INCOMPLETE', /ca\.crt exists but/));
    assert.deepEqual(await readdir(dir), ['ca.crt']);
  }));

test('writeMtlsBundle reports an unwritable location plainly', () =>
  withTempDir(async (tmp) => {
    const file = join(tmp, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(writeMtlsBundle(join(file, 'sub')), errorWith('IO_FAILED', /a-file/));
  }));
