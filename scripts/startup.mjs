#!/usr/bin/env node
// Start-up: the restart case the shared bench measures, side by side with a bare Node listener
// on the same runtime. Each round starts, in turn, the bare listener and each mode of the real
// CLI; times spawn -> first TCP connect the port accepts (a connect tried every 2 ms), then
// the CPU time it used until then, and RSS after SETTLE ms. Rounds interleave the processes so machine noise hits all alike;
// the medians and the ratios to the bare listener are printed.
// Usage: npm run startup -- [--rounds N] [--modes forward,mtls,inspect] [--settle-ms 1000]
//   EGRESSKIT_NODE picks the runtime (both the bare listener and egresskit run on it);
//   EGRESSKIT_ARGS adds flags to every mode; --bins a=PATH,b=PATH compares launchers side by side.
// Linux only (/proc). Uses loopback ports it picks itself.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'egresskit');
const NODE = process.env.EGRESSKIT_NODE ?? process.execPath;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('--rounds', '5'));
const SETTLE_MS = Number(arg('--settle-ms', '1000'));
const MODES = arg('--modes', 'forward,mtls,inspect').split(',');
const EXTRA = (process.env.EGRESSKIT_ARGS ?? '').split(' ').filter(Boolean);
const BINS = new Map(arg('--bins', `egresskit=${BIN}`).split(',').map((b) => b.split('=')));

const dir = mkdtempSync(join(tmpdir(), 'egresskit-startup-'));
const certs = join(dir, 'certs');
execFileSync(process.execPath, [BIN, 'certs', 'mtls', '--out', certs]);

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function argsFor(run, port) {
  if (run === 'bare') return ['-e', `require('net').createServer().listen(${port},'127.0.0.1')`];
  const [bin, name] = run.split(' ');
  // One process (the targets' case); EGRESSKIT_ARGS may give another --workers (the last one wins).
  const common = [BINS.get(bin), name, '--listen', `127.0.0.1:${port}`, '--admin', 'off', '--allow-private', '--workers', '1', ...EXTRA];
  if (name === 'mtls')
    return [...common, '--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt')];
  if (name === 'inspect') return [...common, '--ca-dir', join(dir, 'inspect-ca'), '--ui', 'off'];
  return common;
}

const tryConnect = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

async function once(name) {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const child = spawn(NODE, argsFor(name, port), { stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = false;
  child.once('exit', () => (exited = true));
  while (!(await tryConnect(port))) {
    if (exited) throw new Error(`${name} exited before listening`);
    if (Number(process.hrtime.bigint() - t0) > 30e9) throw new Error(`${name} did not listen in 30 s`);
    await sleep(2);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // CPU the process used up to then (user + system, 10 ms ticks): steadier than wall time on a busy machine.
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const cpuMs = (Number(stat[11]) + Number(stat[12])) * 10;
  await sleep(SETTLE_MS);
  const rssMiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
  child.kill('SIGKILL');
  await new Promise((r) => (exited ? r() : child.once('exit', r)));
  return { ms, cpuMs, rssMiB };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const names = ['bare', ...[...BINS.keys()].flatMap((b) => MODES.map((m) => (BINS.size > 1 ? `${b} ${m}` : `egresskit ${m}`)))];
const results = Object.fromEntries(names.map((n) => [n, []]));
// One untimed start of each first, as the bench does: files in the page cache, inspect's CA made.
for (const n of names) await once(n);
for (let r = 0; r < ROUNDS; r++) for (const n of names) results[n].push(await once(n));
rmSync(dir, { recursive: true, force: true });

const bare = { ms: median(results.bare.map((x) => x.ms)), rss: median(results.bare.map((x) => x.rssMiB)) };
console.log(`runtime ${execFileSync(NODE, ['--version']).toString().trim()}, ${ROUNDS} rounds, settle ${SETTLE_MS} ms`);
console.log(`${'name'.padEnd(24)}start ms  x bare    CPU ms  x bare   RSS MiB  x bare`);
const cpuBare = median(results.bare.map((x) => x.cpuMs));
for (const n of names) {
  const ms = median(results[n].map((x) => x.ms));
  const rss = median(results[n].map((x) => x.rssMiB));
  const cpu = median(results[n].map((x) => x.cpuMs));
  console.log(
    `${n.padEnd(24)}${ms.toFixed(0).padStart(8)} ${(ms / bare.ms).toFixed(2).padStart(7)} ${cpu.toFixed(0).padStart(9)} ${(cpu / cpuBare).toFixed(2).padStart(7)} ${rss.toFixed(1).padStart(9)} ${(rss / bare.rss).toFixed(2).padStart(7)}`,
  );
}
