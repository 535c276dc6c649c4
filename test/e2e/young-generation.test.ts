import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { SEMI_SPACE_MIB } from '../../src/server/young-generation.js';

/** The command lines of a process's children, from /proc. */
function childCommandLines(pid: number): string[][] {
  const lines: string[][] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The parent pid is the 4th field after the command name, which may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      lines.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean));
    } catch {
      // The process ended while we looked.
    }
  }
  return lines;
}

describe('the young generation of the CLI (see young-generation.ts)', () => {
  const proxies: CliProxy[] = [];
  after(async () => {
    for (const p of proxies) await p.stop();
  });

  it('workers start with --max-semi-space-size, unless the operator set one', async () => {
    const flag = `--max-semi-space-size=${SEMI_SPACE_MIB}`;
    const capped = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '2']);
    proxies.push(capped);
    const workers = childCommandLines(capped.child.pid!);
    assert.equal(workers.length, 2, JSON.stringify(workers));
    for (const argv of workers) assert.ok(argv.includes(flag), argv.join(' '));

    const chosen = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '2'], { NODE_OPTIONS: '--max-semi-space-size=32' });
    proxies.push(chosen);
    const theirs = childCommandLines(chosen.child.pid!);
    assert.equal(theirs.length, 2);
    for (const argv of theirs) assert.ok(!argv.some((a) => a.startsWith('--max-semi-space-size')), argv.join(' '));
  });
});
