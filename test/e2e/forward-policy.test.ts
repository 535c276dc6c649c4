import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { rawExchange, statusOf } from '../helpers/raw.js';
import { startHttpUpstream, type Upstream } from '../helpers/upstream.js';

describe('forward: secure defaults', () => {
  let http: Upstream;
  let proxy: CliProxy;
  before(async () => {
    http = await startHttpUpstream();
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--connect-ports', `443,80,${http.port}`]);
  });
  after(async () => {
    await proxy?.stop();
    await http?.close();
  });

  it('refuses loopback by default with 403, the rule, the reason and the fix', async () => {
    const r = await curl(['-i', '-x', proxy.url, `${http.origin}/echo`]);
    assert.equal(r.status, 403);
    assert.match(r.body, /proxy-status: egresskit; error=destination_ip_prohibited; details="127\.0\.0\.1, a loopback address"/i);
    assert.match(r.body, /egresskit: destination address refused: 127\.0\.0\.1, a loopback address/);
    assert.match(r.body, /hint: allow this range with --allow 127\.0\.0\.1\/32 .* or all private ranges with --allow-private/);
    const line = await proxy.waitForLog((l) => l.rule === 'private-address');
    assert.equal(line.decision, 'deny');
    assert.equal(line.status, 403);
  });

  const spellings: Array<[string, string]> = [
    ['127.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['[::1]', '::1'],
    ['169.254.169.254', '169.254.169.254'],
    ['[64:ff9b::a9fe:a9fe]', '64:ff9b::a9fe:a9fe'],
    ['0.0.0.0', '0.0.0.0'],
    ['100.64.0.1', '100.64.0.1'],
    ['10.0.0.1', '10.0.0.1'],
    ['[fd00::1]', 'fd00::1'],
  ];
  for (const [spelling, canonical] of spellings) {
    it(`CONNECT ${spelling}:443 is normalised to ${canonical} and refused before any dial`, async () => {
      const res = await rawExchange(proxy.port, `CONNECT ${spelling}:443 HTTP/1.1\r\nHost: ${spelling}:443\r\n\r\n`);
      assert.equal(statusOf(res), 403, res);
      assert.match(res, /error=destination_ip_prohibited/);
      const line = await proxy.waitForLog((l) => l.event === 'connect' && String(l.target).includes(canonical));
      assert.equal(line.rule, 'private-address');
      assert.equal(line.resolved, null, 'nothing was dialed');
    });
  }

  it('CONNECT to a port outside --connect-ports is refused with the port rule', async () => {
    const res = await rawExchange(proxy.port, 'CONNECT example.com:25 HTTP/1.1\r\nHost: example.com:25\r\n\r\n');
    assert.equal(statusOf(res), 403);
    assert.match(res, /port 25 is not an allowed destination port/);
    assert.match(res, /hint: add 25 to --connect-ports/);
  });

  it('never proxies to its own admin port', async () => {
    const res = await rawExchange(proxy.port, `GET http://127.0.0.1:${proxy.adminPort}/metrics HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(statusOf(res), 403);
  });
});

describe('forward: allow and deny rules', () => {
  let http: Upstream;
  let proxy: CliProxy;
  before(async () => {
    http = await startHttpUpstream();
    proxy = await startCli([
      'forward', '--listen', '127.0.0.1:0', '--admin', 'off',
      '--connect-ports', `${http.port}`,
      '--deny', '127.0.0.2',
      '--allow', 'localhost', '--allow', '127.0.0.0/8',
    ]);
  });
  after(async () => {
    await proxy?.stop();
    await http?.close();
  });

  it('an allow CIDR opens that private range only, and an allow-list denies the rest', async () => {
    assert.equal((await curl(['-x', proxy.url, `${http.origin}/echo`])).status, 200);
    assert.equal((await curl(['-x', proxy.url, `http://localhost:${http.port}/echo`])).status, 200);
    const other = await curl(['-x', proxy.url, `http://example.com:${http.port}/`]);
    assert.equal(other.status, 403);
    assert.match(other.body, /no rule matched example\.com; allow rules are set, so anything they do not name is denied/);
    assert.match(other.body, /hint: allow it with --allow example\.com/);
  });

  it('--deny is checked before --allow', async () => {
    const r = await curl(['-x', proxy.url, `http://127.0.0.2:${http.port}/`]);
    assert.equal(r.status, 403);
    assert.match(r.body, /denied by rule --deny\[0\]/);
  });
});

describe('forward: report mode', () => {
  let http: Upstream;
  let proxy: CliProxy;
  before(async () => {
    http = await startHttpUpstream();
    proxy = await startCli([
      'forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private',
      '--connect-ports', `${http.port}`, '--deny', '127.0.0.1', '--report',
    ]);
  });
  after(async () => {
    await proxy?.stop();
    await http?.close();
  });

  it('lets denied requests through and logs them as would-deny', async () => {
    assert.equal((await curl(['-x', proxy.url, `${http.origin}/echo`])).status, 200);
    const line = await proxy.waitForLog((l) => l.event === 'http');
    assert.equal(line.decision, 'would-deny');
    assert.equal(line.rule, '--deny[0]');
  });
});
