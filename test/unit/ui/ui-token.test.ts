import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { normaliseBasePath } from '../../../src/config/ui-base-path.js';
import { hostAllowed } from '../../../src/ui/guard.js';
import { resolveUiToken } from '../../../src/ui/ui-access.js';

describe('UI token sources', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ui-token-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const GOOD = 'x'.repeat(20);

  test('loopback with nothing given: no token', async () => {
    assert.equal(await resolveUiToken({ bindHost: '127.0.0.1', caDir: join(dir, 'none'), env: {} }), undefined);
    assert.equal(await resolveUiToken({ bindHost: '::1', caDir: join(dir, 'none'), env: {} }), undefined);
  });

  test('EGRESSKIT_UI_TOKEN wins, on loopback too (an explicit token is always required)', async () => {
    const t = await resolveUiToken({ bindHost: '127.0.0.1', caDir: dir, tokenFile: '/nonexistent', env: { EGRESSKIT_UI_TOKEN: ` ${GOOD}\n` } });
    assert.deepEqual(t, { token: GOOD, source: 'env' });
  });

  test('--ui-token-file is read (a mounted Secret); missing, empty or short is a setup error naming the fix', async () => {
    const file = join(dir, 'secret-token');
    await writeFile(file, `${GOOD}\n`);
    assert.deepEqual(await resolveUiToken({ bindHost: '0.0.0.0', caDir: dir, tokenFile: file, env: {} }), { token: GOOD, source: 'file', file });
    await assert.rejects(resolveUiToken({ bindHost: '0.0.0.0', caDir: dir, tokenFile: join(dir, 'missing'), env: {} }), /cannot read --ui-token-file .*ENOENT/);
    await writeFile(file, '\n');
    await assert.rejects(resolveUiToken({ bindHost: '0.0.0.0', caDir: dir, tokenFile: file, env: {} }), /is empty; generate one with: openssl rand/);
    await writeFile(file, 'short');
    await assert.rejects(resolveUiToken({ bindHost: '0.0.0.0', caDir: dir, tokenFile: file, env: {} }), /has 5 characters; use at least 16/);
    await assert.rejects(resolveUiToken({ bindHost: '0.0.0.0', caDir: dir, env: { EGRESSKIT_UI_TOKEN: '' } }), /EGRESSKIT_UI_TOKEN is empty/);
  });

  test('beyond loopback: generated once into <ca-dir>/ui-token (0600), then kept', async () => {
    const caDir = join(dir, 'ca');
    const first = await resolveUiToken({ bindHost: '0.0.0.0', caDir, env: {} });
    assert.equal(first?.source, 'generated');
    assert.equal(first?.file, join(caDir, 'ui-token'));
    assert.ok((first?.token.length ?? 0) >= 32);
    assert.equal((await stat(join(caDir, 'ui-token'))).mode & 0o777, 0o600);
    await chmod(join(caDir, 'ui-token'), 0o644);
    const second = await resolveUiToken({ bindHost: '10.0.0.1', caDir, env: {} });
    assert.deepEqual(second, { token: first?.token, source: 'kept', file: join(caDir, 'ui-token') });
    assert.equal((await stat(join(caDir, 'ui-token'))).mode & 0o777, 0o600, 'a kept file readable by others is made 0600 again');
    assert.equal((await readFile(join(caDir, 'ui-token'), 'utf8')).trim(), first?.token);
  });

  test('two starts at once on one --ca-dir end with one token', async () => {
    const caDir = join(dir, 'race');
    const both = await Promise.all([resolveUiToken({ bindHost: '0.0.0.0', caDir, env: {} }), resolveUiToken({ bindHost: '0.0.0.0', caDir, env: {} })]);
    assert.equal(both[0]?.token, both[1]?.token);
  });
});

describe('UI Host allowlist and base path', () => {
  test('IP literals and localhost always; names only when listed (exact, .suffix or *.suffix)', () => {
    for (const h of ['127.0.0.1:8081', '[::1]:8081', '10.1.2.3', 'localhost', 'LOCALHOST:1', 'localhost.']) assert.ok(hostAllowed(h), h);
    for (const h of [undefined, '', 'evil.example', 'localhost.evil.example', 'sub.localhost', '127.0.0.1.nip.io']) assert.ok(!hostAllowed(h), String(h));
    const allow = { names: ['egress.example.com', '.corp.example', '*.svc.cluster.local'] };
    for (const h of ['egress.example.com:443', 'EGRESS.example.com', 'ui.corp.example', 'a.b.svc.cluster.local']) assert.ok(hostAllowed(h, allow), h);
    for (const h of ['xegress.example.com', 'corp.example.evil', 'evilcorp.example', 'svc.cluster.local.evil']) assert.ok(!hostAllowed(h, allow), h);
  });

  test('base paths are normalised to /a/b/; what an ingress could not route is refused', () => {
    assert.equal(normaliseBasePath('/'), '/');
    assert.equal(normaliseBasePath(''), '/');
    assert.equal(normaliseBasePath('egress'), '/egress/');
    assert.equal(normaliseBasePath('/egress'), '/egress/');
    assert.equal(normaliseBasePath('/tools/egress/'), '/tools/egress/');
    for (const bad of ['/a//b/', '/../x', '/a/./b', '/a b/', '/a?b', '//']) assert.equal(normaliseBasePath(bad), undefined, bad);
  });
});
