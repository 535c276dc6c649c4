import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { run } from '../helpers/exec.js';
import { needNetns } from '../helpers/prerequisites.js';

// DNS failures need a resolver that fails without any traffic leaving this machine: the proxy
// runs in a network namespace of the test's own that has nothing but loopback, so the lookup
// fails at once (EAI_AGAIN) instead of reaching the machine's real resolver.
const ns = `egk-dns-${process.pid}`;
const netns = await needNetns(`${ns}-probe`);

describe('forward: DNS failures (inside a network namespace)', { skip: netns.skip }, () => {
  let proxy: CliProxy;
  const inNs = (cmd: string, args: string[]) => run('ip', ['netns', 'exec', ns, cmd, ...args]);
  before(async () => {
    netns.require();
    await run('ip', ['netns', 'add', ns]);
    await inNs('ip', ['link', 'set', 'lo', 'up']);
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off'], {}, ['ip', 'netns', 'exec', ns]);
  });
  after(async () => {
    await proxy?.stop();
    await run('ip', ['netns', 'del', ns]);
  });

  it('a name the proxy cannot resolve: 502 dns_error with the name and a hint, for CONNECT and plain HTTP', async () => {
    const plain = await inNs('curl', ['-sS', '-i', '-x', proxy.url, 'http://nowhere.example/']);
    assert.match(plain.stdout, /^HTTP\/1\.1 502/);
    assert.match(plain.stdout, /Proxy-Status: egresskit; error=dns_error; details="nowhere\.example \(EAI_AGAIN\)"/i);
    assert.match(plain.stdout, /hint: the proxy's resolver is unreachable or failing/);
    const tunnel = await inNs('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-p', '-x', proxy.url, 'http://nowhere.example/']);
    assert.match(tunnel.stdout + tunnel.stderr, /502/);
    const line = await proxy.waitForLog((l) => l.event === 'connect' && l.error === 'dns_failed');
    assert.equal(line.target, 'nowhere.example:80');
    assert.equal(line.status, 502);
  });
});
