import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { run } from '../helpers/exec.js';

/** The listening socket's accept queue as the kernel reports it (`ss -lnt`: Send-Q of a listener). */
async function backlogOf(port: number): Promise<number> {
  const r = await run('ss', ['-Hlnt', `sport = :${port}`]);
  assert.equal(r.code, 0, `ss (iproute2) is needed: ${r.stderr}`);
  const fields = r.stdout.trim().split(/\s+/);
  return Number(fields[2]);
}

const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));

describe('the proxy listener queues as many unaccepted connections as --max-connections (Node defaults to 511)', () => {
  const proxies: CliProxy[] = [];
  after(async () => Promise.all(proxies.map((p) => p.stop())));

  it('default: 4096 (capped by net.core.somaxconn)', async () => {
    const p = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off']);
    proxies.push(p);
    assert.equal(await backlogOf(p.port), Math.min(4096, somaxconn));
  });

  it('--max-connections 2000: 2000', async () => {
    const p = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--max-connections', '2000']);
    proxies.push(p);
    assert.equal(await backlogOf(p.port), Math.min(2000, somaxconn));
  });
});
