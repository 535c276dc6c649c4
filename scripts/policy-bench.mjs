#!/usr/bin/env node
// Policy at scale: what compiling and deciding cost for 1 .. 100,000 host rules and as many
// CIDR rules, on the built dist (npm run build first).
//   - compile: CPU time of compilePolicy() (user+sys, GC included), median of a few;
//   - heap: V8 heap held by the compiled policy (after gc, the rule specs excluded); native
//     objects (the BlockLists older builds made per CIDR rule) are not counted;
//   - decision: CPU time (process.cpuUsage, user+sys) per decision, phase one (decideHost) and
//     phase two (decideAddress) as the pipeline runs them, over a fixed mix of half hits (a rule
//     picked uniformly, so a linear scan pays for its position) and half misses; median of
//     several rounds, interleaved across sizes. The ratio compares 100,000 rules with 10.
// Usage: npm run bench:policy -- [--dist DIR] [--counts 1,10,100,10000,100000] [--rounds 7] [--json FILE]
// --dist points at another build (e.g. an older commit's dist) to measure it side by side.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const DIST = resolve(arg('--dist', join(ROOT, 'dist')));
const COUNTS = arg('--counts', '1,10,100,10000,100000').split(',').map(Number);
const ROUNDS = Number(arg('--rounds', '7'));
const JSON_OUT = arg('--json', undefined);
const ROUND_CPU_US = 60_000;
const QUERIES = 1024;

const load = (path) => import(pathToFileURL(join(DIST, path)).href);
const { compilePolicy } = await load('src/policy/compile.js');
const { decideHost, decideAddress } = await load('src/policy/decide.js');
const { parseAuthority } = await load('src/model/destination.js');
const ANONYMOUS = { kind: 'anonymous', principal: null, attributes: {} };

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc (npm run bench:policy does)');
  process.exit(2);
}

// A small deterministic generator, so that every run and every build sees the same mix.
let seed = 0x2545f491;
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
const pick = (n) => Math.floor(random() * n);
const dotted = (n) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
const action = (i) => (i % 10 === 9 ? 'deny' : 'allow');

/** Host rules: half exact names, half "*." suffixes; hits on either, misses on names no rule has. */
const hosts = {
  rules: (n) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, action: action(i), hosts: [i % 2 === 0 ? `h${i}.corp${i % 1000}.example` : `*.s${i}.example`] })),
  query(n) {
    const i = pick(n);
    if (random() < 0.5) return { target: `m${pick(1e6)}.nowhere${pick(97)}.example:443`, ip: '93.184.216.34' };
    return { target: i % 2 === 0 ? `h${i}.corp${i % 1000}.example:443` : `api.v${pick(9)}.s${i}.example:443`, ip: '93.184.216.34' };
  },
};

/** CIDR rules: three in four IPv4 /24s, one in four IPv6 /64s; IP literal targets inside or outside. */
const v4net = (i) => 0x0b000000 + i * 256;
const v6net = (i) => `2a00:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
const cidrs = {
  rules: (n) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, action: action(i), hosts: [i % 4 === 3 ? `${v6net(i)}::/64` : `${dotted(v4net(i))}/24`] })),
  query(n) {
    const i = pick(n);
    const miss = random() < 0.5;
    if (i % 4 === 3) {
      const ip = miss ? `2c0f:${pick(0xffff).toString(16)}::${pick(0xffff).toString(16)}` : `${v6net(i)}::${pick(0xffff).toString(16)}`;
      return { target: `[${ip}]:443`, ip };
    }
    const ip = dotted(miss ? 0x34000000 + pick(0xffffff) : v4net(i) + pick(256));
    return { target: `${ip}:443`, ip };
  },
};

function spec(rules) {
  return { allowPrivate: false, connectPorts: [443], enforcement: 'enforce', rules };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function compileAndMeasure(kind, n) {
  const rules = kind.rules(n);
  const reps = n >= 10_000 ? 3 : 7;
  const times = [];
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    compilePolicy(spec(rules));
    const c = process.cpuUsage(c0);
    times.push((c.user + c.system) / 1000);
  }
  globalThis.gc();
  const before = process.memoryUsage();
  const policy = compilePolicy(spec(rules));
  globalThis.gc();
  const after = process.memoryUsage();
  const queries = Array.from({ length: QUERIES }, () => kind.query(n)).map(({ target, ip }) => ({ facts: { dest: parseAuthority(target), identity: ANONYMOUS, method: 'CONNECT' }, ip }));
  return {
    row: {
      kind: kind === hosts ? 'host' : 'cidr',
      rules: n,
      compileMs: median(times),
      heapMiB: (after.heapUsed - before.heapUsed) / 2 ** 20,
      ns: [],
    },
    policy,
    queries,
  };
}

let sink = 0;
function decide(policy, q) {
  const host = decideHost(policy, q.facts);
  const d = host?.verdict === 'deny' && host.enforcement === 'enforce' ? host : decideAddress(policy, q.facts, q.ip, host, undefined);
  sink += d.verdict === 'allow' ? 1 : 0;
}

/** Decisions for a round to take about ROUND_CPU_US of CPU. */
function calibrate({ policy, queries }) {
  let iterations = 16;
  for (;;) {
    const c0 = process.cpuUsage();
    for (let k = 0; k < iterations; k++) decide(policy, queries[k % QUERIES]);
    const c = process.cpuUsage(c0);
    if (c.user + c.system >= ROUND_CPU_US / 4 || iterations >= 1 << 24) {
      return Math.max(16, Math.ceil((iterations * ROUND_CPU_US) / Math.max(1, c.user + c.system)));
    }
    iterations *= 4;
  }
}

function round({ policy, queries, row }, iterations) {
  const start = pick(QUERIES);
  const c0 = process.cpuUsage();
  for (let k = 0; k < iterations; k++) decide(policy, queries[(start + k) % QUERIES]);
  const c = process.cpuUsage(c0);
  row.ns.push(((c.user + c.system) * 1000) / iterations);
}

// Compile everything first, then interleave the decision rounds across sizes, so that load from
// other processes on the machine falls on every size alike.
const cases = [];
for (const kind of [hosts, cidrs]) for (const n of COUNTS) cases.push(compileAndMeasure(kind, n));
const iterations = cases.map(calibrate);
for (let r = 0; r < ROUNDS; r++) cases.forEach((c, i) => round(c, iterations[i]));
const results = cases.map(({ row: { ns, ...row } }) => ({ ...row, nsPerDecision: median(ns), rounds: ns }));
if (sink < 0) console.log(sink);

const fmt = (x, d) => x.toFixed(d).padStart(10);
console.log(`policy bench: ${DIST}, node ${process.version}, median of ${ROUNDS} interleaved rounds of ~${ROUND_CPU_US / 1000} ms CPU per size`);
console.log('| kind | rules | compile ms CPU | heap MiB | ns/decision |');
console.log('|---|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.kind} | ${String(r.rules).padStart(7)} | ${fmt(r.compileMs, 2)} | ${fmt(r.heapMiB, 2)} | ${fmt(r.nsPerDecision, 0)} |`);
}
for (const kind of ['host', 'cidr']) {
  const at = (n) => results.find((r) => r.kind === kind && r.rules === n);
  const hi = at(Math.max(...COUNTS));
  const lo = at(10);
  if (hi && lo) console.log(`${kind}: ${hi.rules} rules cost ${(hi.nsPerDecision / lo.nsPerDecision).toFixed(2)}x the decision at 10`);
}
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ dist: DIST, node: process.version, results }, null, 2));
