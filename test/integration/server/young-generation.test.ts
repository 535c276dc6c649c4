import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../helpers/paths.js';

const run = promisify(execFile);
const MODULE = join(REPO_ROOT, 'dist', 'src', 'server', 'young-generation.js');

/**
 * A Node process that keeps many short-lived objects alive across scavenges (what a proxy
 * under load does with in-flight exchanges), which makes V8 grow new space; it prints the
 * new space's size and what capYoungGeneration returned.
 */
const CHURN = `
const { capYoungGeneration } = await import(process.env.MODULE);
const capped = process.env.CAP ? capYoungGeneration(Number(process.env.CAP)) : 'off';
const v8 = await import('node:v8');
let max = 0;
let keep = [];
for (let round = 0; round < 1500; round++) {
  // About 100 KiB per event-loop turn, as a busy proxy allocates; the cap is checked after
  // each GC, from the event loop, as in the proxy.
  for (let i = 0; i < 2000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 40000) keep = []; }
  await new Promise((resolve) => setImmediate(resolve));
  max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
}
console.log(JSON.stringify({ capped, newSpaceMiB: max / 1048576 }));
`;

async function churn(env: NodeJS.ProcessEnv, execArgv: string[] = []): Promise<{ capped: boolean | string; newSpaceMiB: number }> {
  const { stdout } = await run(process.execPath, [...execArgv, '--input-type=module', '-e', CHURN], {
    env: { ...process.env, NODE_OPTIONS: '', MODULE, ...env },
  });
  return JSON.parse(stdout) as { capped: boolean | string; newSpaceMiB: number };
}

test('without the cap, this churn grows new space past 16 MiB (so the next test can fail)', async () => {
  const r = await churn({});
  assert.ok(r.newSpaceMiB > 16, `new space reached ${r.newSpaceMiB} MiB`);
});

test('capYoungGeneration keeps new space at its cap in a running process', async () => {
  const r = await churn({ CAP: '4' });
  assert.equal(r.capped, true);
  // Two semi-spaces of 4 MiB (Node 24 commits in finer steps: up to a page more).
  assert.ok(r.newSpaceMiB <= 9, `new space reached ${r.newSpaceMiB} MiB`);
});

test("the operator's own --max-semi-space-size wins: the cap steps aside", async () => {
  const viaArgv = await churn({ CAP: '4' }, ['--max-semi-space-size=16']);
  assert.equal(viaArgv.capped, false);
  assert.ok(viaArgv.newSpaceMiB > 9, `new space reached ${viaArgv.newSpaceMiB} MiB`);
  const viaEnv = await churn({ CAP: '4', NODE_OPTIONS: '--max-semi-space-size=16' });
  assert.equal(viaEnv.capped, false);
});
