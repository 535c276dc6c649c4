import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { connect as tlsConnect } from 'node:tls';
import { startProxy, type ConfigInput, type ProxyHandle } from '../../../src/index.js';
import { makeTestPki } from '../../helpers/pki.js';
import { openSocket, readUntil } from '../../helpers/raw.js';
import { startHttpsUpstream, startHttpUpstream, type Upstream } from '../../helpers/upstream.js';

function viaProxy(proxy: ProxyHandle, url: string, user?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = user ? { 'proxy-authorization': `Basic ${Buffer.from(user).toString('base64')}` } : {};
    const req = request({ host: '127.0.0.1', port: proxy.address.port, path: url, headers, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await sleep(10);
  assert.ok(check(), what);
}

describe('reload through the library: one version per decision', () => {
  let upstream: Upstream;
  let dir: string;
  before(async () => {
    upstream = await startHttpUpstream();
    dir = mkdtempSync(join(tmpdir(), 'egk-version-'));
  });
  after(async () => {
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (users: string, who: string): ConfigInput => ({
    listen: '127.0.0.1:0',
    admin: 'off',
    auth: { htpasswd: users },
    policy: { allowPrivate: true, connectPorts: [upstream.port], rules: [{ id: `only-${who}`, action: 'allow', hosts: ['127.0.0.1'], identities: [who] }] },
  });

  it('a reload while a request is being identified does not reach it: identified and decided under the version it started with', async () => {
    const users = join(dir, 'slow-users');
    // A slow hash (~0.3-1 s of bcrypt) keeps the request in identify while the reload happens.
    const alice = `alice:${bcrypt.hashSync('pw-a', 13)}\n`;
    const bob = `bob:${bcrypt.hashSync('pw-b', 4)}\n`;
    writeFileSync(users, alice);
    const proxy = await startProxy(config(users, 'alice'));
    try {
      const v1 = proxy.configVersion();
      let v2 = '';
      // On a very busy machine the request may reach the proxy only after the reload: that try
      // did not test anything (alice is then unknown: 407 under v2), so it is tried again.
      for (let attempt = 0; attempt < 3; attempt++) {
        writeFileSync(users, alice);
        assert.equal(proxy.reload(config(users, 'alice')).ok, true);
        const before = proxy.records().length;
        const pending = viaProxy(proxy, `${upstream.origin}/echo`, 'alice:pw-a');
        await sleep(100);
        // The next version: bob instead of alice, in the users and in the rule.
        writeFileSync(users, bob);
        const outcome = proxy.reload(config(users, 'bob'));
        assert.ok(outcome.ok && outcome.changed, 'the new version is in place');
        v2 = outcome.version;
        const status = await pending;
        await until(() => proxy.records().length === before + 1, 'the record is published');
        const record = proxy.records().at(-1)!;
        if (status === 407 && record.configVersion === v2) continue;
        // Alice's request was admitted under v1: allowed by v1's rule, not refused by v2's.
        assert.equal(status, 200);
        assert.equal(record.configVersion, v1);
        assert.equal(record.decision?.ruleId, 'only-alice');
        break;
      }
      assert.equal(proxy.records().at(-1)!.configVersion, v1, 'the reload happened while a request was being identified');
      // And the next requests are decided under v2.
      assert.equal(await viaProxy(proxy, `${upstream.origin}/echo`, 'bob:pw-b'), 200);
      assert.equal(await viaProxy(proxy, `${upstream.origin}/echo`, 'alice:pw-a'), 407);
      await until(() => proxy.records().filter((r) => r.configVersion === v2).length >= 2, 'two records under v2');
      assert.equal(proxy.configVersion(), v2);
    } finally {
      await proxy.close(0);
    }
  });

  it('reload() with an invalid config or users file reports it and keeps the running version', async () => {
    const users = join(dir, 'users');
    writeFileSync(users, `alice:${bcrypt.hashSync('pw-a', 4)}\n`);
    const proxy = await startProxy(config(users, 'alice'));
    try {
      const v1 = proxy.configVersion();
      const same = proxy.reload();
      assert.deepEqual(same, { ok: true, version: v1, changed: false, needsRestart: [] });
      const badRule = proxy.reload({ ...config(users, 'alice'), policy: { rules: [{ action: 'allow', hosts: ['exa mple.com'] }] } });
      assert.equal(badRule.ok, false);
      assert.match(badRule.ok ? '' : badRule.error, /policy\.rules\[0\]\.hosts\[0\]/);
      writeFileSync(users, 'alice\n');
      const badUsers = proxy.reload();
      assert.deepEqual(badUsers.ok ? undefined : [badUsers.file, badUsers.line], [users, 1]);
      assert.equal(proxy.configVersion(), v1);
      assert.equal(await viaProxy(proxy, `${upstream.origin}/echo`, 'alice:pw-a'), 200, 'the last good users still answer');
    } finally {
      await proxy.close(0);
    }
  });

  it('inspect: an exchange in a tunnel opened before a reload carries the tunnel\'s version (it was decided then)', async () => {
    const pki = await makeTestPki();
    const https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    const caDir = join(dir, 'inspect-ca');
    const inspectConfig = (extra: Array<{ id: string; action: 'allow'; hosts: string[] }>): ConfigInput => ({
      mode: 'inspect',
      listen: '127.0.0.1:0',
      admin: 'off',
      inspect: { ui: 'off', caDir, upstreamCa: [pki.caFile] },
      policy: { allowPrivate: true, connectPorts: [https.port], rules: [{ id: 'local', action: 'allow', hosts: ['localhost', '127.0.0.1'] }, ...extra] },
    });
    const proxy = await startProxy(inspectConfig([]));
    try {
      const v1 = proxy.configVersion();
      // One CONNECT tunnel, intercepted, carrying two requests: one before the reload, one after.
      const raw = await openSocket(proxy.address.port);
      raw.write(`CONNECT localhost:${https.port} HTTP/1.1\r\nHost: localhost:${https.port}\r\n\r\n`);
      assert.match(await readUntil(raw, '\r\n\r\n'), /^HTTP\/1\.1 200/);
      const tunnel = tlsConnect({ socket: raw, servername: 'localhost', ca: await readFile(join(caDir, 'ca.crt'), 'utf8'), ALPNProtocols: ['http/1.1'] });
      await once(tunnel, 'secureConnect');
      const ask = async (extra: string) => {
        tunnel.write(`GET /status/204 HTTP/1.1\r\nHost: localhost:${https.port}\r\n${extra}\r\n`);
        return readUntil(tunnel, '\r\n\r\n');
      };
      assert.match(await ask(''), /^HTTP\/1\.1 204/);
      const outcome = proxy.reload(inspectConfig([{ id: 'other', action: 'allow', hosts: ['example.com'] }]));
      assert.ok(outcome.ok && outcome.changed);
      assert.match(await ask('Connection: close\r\n'), /^HTTP\/1\.1 204/);
      tunnel.end();
      await until(() => proxy.records().some((r) => r.kind === 'connect'), 'the tunnel record');
      const exchanges = proxy.records().filter((r) => r.kind === 'http');
      assert.equal(exchanges.length, 2);
      assert.deepEqual(exchanges.map((r) => r.configVersion), [v1, v1]);
      assert.notEqual(proxy.configVersion(), v1);
    } finally {
      await proxy.close(0);
      await https.close();
    }
  });
});
