import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';

/** Operators alert on fd growth (a leak ends at the Pod's fd limit): the gauge must be on /metrics. */
describe('metrics: open file descriptors', () => {
  let proxy: CliProxy;
  before(async () => {
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  });
  after(async () => {
    await proxy?.stop();
  });

  it('egresskit_process_open_fds is exported and matches /proc', async () => {
    const text = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
    const m = /^egresskit_process_open_fds(?:\{[^}]*\})? (\d+)$/m.exec(text);
    assert.ok(m, 'egresskit_process_open_fds is missing from /metrics');
    assert.match(text, /^egresskit_process_max_fds(?:\{[^}]*\})? \d+$/m);
    const now = (await readdir(`/proc/${proxy.child.pid!}/fd`)).length;
    // The scrape itself holds a connection or two: near, not equal.
    assert.ok(Math.abs(Number(m[1]) - now) <= 5, `gauge ${m[1]}, /proc ${now}`);
  });
});
