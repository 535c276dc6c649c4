import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { rawExchange, statusOf } from '../helpers/raw.js';
import { startHttpUpstream, type Upstream } from '../helpers/upstream.js';

describe('forward: Basic proxy auth (htpasswd, bcrypt)', () => {
  let http: Upstream;
  let proxy: CliProxy;
  const password = 's3cret:with:colons';
  before(async () => {
    http = await startHttpUpstream();
    const dir = await mkdtemp(join(tmpdir(), 'egk-auth-'));
    const file = join(dir, 'htpasswd');
    await writeFile(file, `# users\nalice:${bcrypt.hashSync(password, 5)}\n`);
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', `${http.port}`, '--users', file]);
  });
  after(async () => {
    await proxy?.stop();
    await http?.close();
  });

  it('no credentials: 407 with Proxy-Authenticate', async () => {
    const r = await curl(['-i', '-x', proxy.url, `${http.origin}/echo`]);
    assert.equal(r.status, 407);
    assert.match(r.body, /proxy-authenticate: Basic realm="egresskit"/i);
  });

  it('wrong password: 407, and the password never reaches the log', async () => {
    const r = await curl(['-U', 'alice:wrong-password-xyz', '-x', proxy.url, `${http.origin}/echo`]);
    assert.equal(r.status, 407);
    const tunnel = await rawExchange(proxy.port, `CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\nProxy-Authorization: Basic ${Buffer.from('alice:wrong-password-xyz').toString('base64')}\r\n\r\n`);
    assert.equal(statusOf(tunnel), 407);
    await proxy.waitForLog((l) => l.error === 'auth_invalid');
    const logs = JSON.stringify(proxy.logs);
    assert.doesNotMatch(logs, /wrong-password-xyz/);
    assert.doesNotMatch(logs, new RegExp(Buffer.from('alice:wrong-password-xyz').toString('base64')));
  });

  it('right credentials: curl -U and user:pass in the proxy URL both work; identity is logged', async () => {
    assert.equal((await curl(['-U', `alice:${password}`, '-x', proxy.url, `${http.origin}/echo`])).status, 200);
    const url = new URL(proxy.url);
    url.username = 'alice';
    url.password = encodeURIComponent(password);
    const viaEnv = await curl([`${http.origin}/echo`], { http_proxy: url.href });
    assert.equal(viaEnv.status, 200);
    assert.equal(JSON.parse(viaEnv.body).headers['proxy-authorization'], undefined, 'credentials are not forwarded');
    const line = await proxy.waitForLog((l) => l.identity === 'alice');
    assert.equal(line.identity_kind, 'user');
  });

  for (const [name, header] of [
    ['not Basic', 'Bearer abc'],
    ['bad base64', 'Basic !!!!'],
    ['no colon', `Basic ${Buffer.from('alice').toString('base64')}`],
    ['empty', 'Basic '],
    ['binary junk', `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x00]).toString('base64')}`],
  ]) {
    it(`malformed Proxy-Authorization (${name}) is 407, never 500`, async () => {
      const res = await rawExchange(proxy.port, `CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\nProxy-Authorization: ${header}\r\n\r\n`);
      assert.equal(statusOf(res), 407, res);
    });
  }
});
