import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli, startCli, type CliProxy, type LogLine } from '../helpers/cli.js';
import { openSocket, readUntil, statusOf } from '../helpers/raw.js';
import { startHalfCloseServer, startHttpUpstream, type Upstream } from '../helpers/upstream.js';
import { defaultWorkers } from '../../src/server/cpu-quota.js';

/** An absolute-URI GET on a new connection (so the kernel may hand it to any worker). */
function get(port: number, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: url, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A CONNECT, then the tunnel closed at once: one `connect` record. */
async function connectOnce(port: number, target: string): Promise<number> {
  const s = await openSocket(port);
  s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  const head = await readUntil(s, '\r\n\r\n');
  s.destroy();
  return statusOf(head);
}

async function scrape(proxy: CliProxy): Promise<string> {
  return fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`).then((r) => r.text());
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `) || l.startsWith(`${series.replace(/\}$/, '')},`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const records = (p: CliProxy, event = 'connect') => p.logs.filter((l) => l.event === event);
const workersOf = (lines: LogLine[]) => new Set(lines.map((l) => l.worker));

/** Requests in parallel rounds until records from every worker are seen (the kernel decides who accepts). */
async function untilBothServe(proxy: CliProxy, send: () => Promise<number>, expect: number, event = 'connect', since = 0): Promise<LogLine[]> {
  for (let round = 0; round < 20; round++) {
    const statuses = await Promise.all(Array.from({ length: 16 }, send));
    assert.deepEqual(new Set(statuses), new Set([expect]));
    await sleep(100);
    const seen = records(proxy, event).slice(since);
    if (workersOf(seen).has(1) && workersOf(seen).has(2)) return seen;
  }
  assert.fail(`records came from workers ${[...workersOf(records(proxy, event).slice(since))].join(', ')} only`);
}

describe('--workers 2: one admin port, one log, metrics summed, reload, drain and replacement across workers', () => {
  let up: Upstream;
  let other: Upstream;
  let dir: string;
  const proxies: CliProxy[] = [];
  const start = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const p = await startCli(args, env);
    proxies.push(p);
    return p;
  };
  before(async () => {
    up = await startHttpUpstream();
    other = await startHttpUpstream();
    dir = mkdtempSync(join(tmpdir(), 'egk-workers-'));
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.stop('SIGKILL')));
    await up?.close();
    await other?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const base = () => ['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--connect-ports', `${up.port},${other.port}`];

  it('serves from both workers; every record reaches the one log once, and the metrics count them all', async () => {
    const proxy = await start([...base(), '--workers', '2']);
    const listening = await proxy.waitForLog((l) => l.event === 'listening');
    assert.equal(listening.workers, 2);
    assert.equal((listening.worker_pids as number[]).length, 2);
    assert.equal((await fetch(`http://127.0.0.1:${proxy.adminPort}/readyz`)).status, 200);
    const tunnels = await untilBothServe(proxy, () => connectOnce(proxy.port, `127.0.0.1:${up.port}`), 200);
    const gets = await Promise.all(Array.from({ length: 10 }, () => get(proxy.port, `${up.origin}/echo`)));
    assert.deepEqual(new Set(gets), new Set([200]));
    // Records cross IPC in batches (5 ms, longer on a loaded machine): wait for the ten, not a fixed time.
    for (let waited = 0; records(proxy, 'http').length < 10 && waited < 5000; waited += 50) await sleep(50);
    const connects = records(proxy).length;
    assert.ok(connects >= tunnels.length);
    assert.equal(records(proxy, 'http').length, 10);
    // Every stdout line is one JSON object written by the primary (workers write nothing).
    assert.deepEqual(proxy.logs.filter((l) => 'raw' in l), []);
    const text = await scrape(proxy);
    assert.equal(metric(text, 'egresskit_requests_total{kind="connect",decision="allow",status="200",mode="forward"}'), connects);
    assert.equal(metric(text, 'egresskit_requests_total{kind="http",decision="allow",status="200",mode="forward"}'), 10);
    assert.equal(metric(text, 'egresskit_workers{mode="forward"}'), 2);
    assert.match(text, /egresskit_worker_resident_memory_bytes\{worker="1",mode="forward"\} [1-9]/);
    assert.match(text, /egresskit_worker_resident_memory_bytes\{worker="2",mode="forward"\} [1-9]/);
    assert.equal(metric(text, 'egresskit_active_tunnels{mode="forward"}'), 0);
  });

  it('a policy change reaches every worker: requests on both see the new rule, under the same config_version', async () => {
    const file = join(dir, 'policy.yaml');
    const yaml = (port: number) =>
      `listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nworkers: 2\npolicy:\n  allowPrivate: true\n  connectPorts: [${up.port}, ${other.port}]\n  rules:\n    - id: only\n      action: allow\n      hosts: ["127.0.0.1"]\n      ports: [${port}]\n`;
    writeFileSync(file, yaml(up.port));
    const proxy = await start(['forward', '--config', file]);
    const first = String((await proxy.waitForLog((l) => l.event === 'listening')).config_version);
    await untilBothServe(proxy, () => connectOnce(proxy.port, `127.0.0.1:${other.port}`), 403);
    writeFileSync(`${file}.tmp`, yaml(other.port));
    renameSync(`${file}.tmp`, file);
    const reloaded = await proxy.waitForLog((l) => l.event === 'config_reloaded' && l.config_version !== first);
    // The workers swap on the primary's message, a moment after the line.
    await sleep(300);
    const since = records(proxy).length;
    const after = await untilBothServe(proxy, () => connectOnce(proxy.port, `127.0.0.1:${other.port}`), 200, 'connect', since);
    assert.deepEqual(new Set(after.map((l) => l.config_version)), new Set([reloaded.config_version]));
    assert.deepEqual(new Set(after.map((l) => l.rule)), new Set(['only']));
  });

  it('a worker killed with SIGKILL is replaced, its death counted and logged; a quick second death backs off', async () => {
    const proxy = await start([...base(), '--workers', '2']);
    const pids = (await proxy.waitForLog((l) => l.event === 'listening')).worker_pids as number[];
    process.kill(pids[0]!, 'SIGKILL');
    const exited = await proxy.waitForLog((l) => l.event === 'worker_exited');
    assert.equal(exited.level, 'warn');
    assert.equal(exited.worker, 1);
    assert.equal(exited.pid, pids[0]);
    assert.equal(exited.reason, 'signal');
    assert.equal(exited.signal, 'SIGKILL');
    const started = await proxy.waitForLog((l) => l.event === 'worker_started' && l.worker === 1);
    assert.notEqual(started.pid, pids[0]);
    await untilBothServe(proxy, () => connectOnce(proxy.port, `127.0.0.1:${up.port}`), 200);
    assert.equal((await fetch(`http://127.0.0.1:${proxy.adminPort}/readyz`)).status, 200);
    // Killed again right after its start: a crash loop is restarted after a pause, not at once.
    process.kill(started.pid as number, 'SIGKILL');
    const second = await proxy.waitForLog((l) => l.event === 'worker_exited' && l.pid === started.pid);
    assert.ok((second.restart_in_ms as number) > 0, `restart_in_ms ${String(second.restart_in_ms)}`);
    await proxy.waitForLog((l) => l.event === 'worker_started' && l.pid !== started.pid && l.worker === 1);
    const text = await scrape(proxy);
    assert.equal(metric(text, 'egresskit_worker_exits_total{reason="signal",mode="forward"}'), 2);
  });

  it('SIGTERM drains every worker: readiness fails, open tunnels get until the deadline, their records are logged, exit 0', async () => {
    const hold = await startHalfCloseServer();
    try {
      const proxy = await start(['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--connect-ports', String(hold.port), '--drain', '1500ms', '--workers', '2']);
      await proxy.waitForLog((l) => l.event === 'listening');
      // Tunnels on (most likely) both workers, held open.
      const sockets = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const s = await openSocket(proxy.port);
          s.write(`CONNECT 127.0.0.1:${hold.port} HTTP/1.1\r\nHost: 127.0.0.1:${hold.port}\r\n\r\n`);
          assert.equal(statusOf(await readUntil(s, '\r\n\r\n')), 200);
          s.on('error', () => undefined);
          return s;
        }),
      );
      await sleep(100);
      assert.equal(metric(await scrape(proxy), 'egresskit_active_tunnels{mode="forward"}'), 8);
      const stopped = proxy.stop('SIGTERM');
      await proxy.waitForLog((l) => l.event === 'draining');
      assert.equal((await fetch(`http://127.0.0.1:${proxy.adminPort}/readyz`)).status, 503);
      assert.deepEqual(await stopped, { code: 0, signal: null });
      const closed = proxy.logs.find((l) => l.event === 'closed')!;
      assert.equal(closed.tunnels_cut, 8);
      assert.equal(records(proxy).length, 8, 'each cut tunnel\'s record was logged before the exit');
      for (const s of sockets) s.destroy();
    } finally {
      await hold.close();
    }
  });

  it('a second signal exits at once (143) and takes the workers with it', async () => {
    const hold = await startHalfCloseServer();
    try {
      const proxy = await start(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', String(hold.port), '--drain', '60s', '--workers', '2']);
      const pids = (await proxy.waitForLog((l) => l.event === 'listening')).worker_pids as number[];
      const s = await openSocket(proxy.port);
      s.on('error', () => undefined);
      s.write(`CONNECT 127.0.0.1:${hold.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await readUntil(s, '\r\n\r\n');
      proxy.child.kill('SIGTERM');
      await proxy.waitForLog((l) => l.event === 'draining');
      const t0 = Date.now();
      assert.deepEqual(await proxy.stop('SIGTERM'), { code: 143, signal: null });
      assert.ok(Date.now() - t0 < 10_000);
      await sleep(300);
      // Gone, or a zombie waiting for this container's init to reap it: no longer running either way.
      for (const pid of pids) assert.ok(!existsSync(`/proc/${pid}`) || /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')), `worker ${pid} is gone`);
      s.destroy();
    } finally {
      await hold.close();
    }
  });

  it('the default is the CPUs this process may use (capped by the cgroup quota); --workers 1 is one process', async () => {
    const auto = await start(base(), { EGRESSKIT_WORKERS: '' });
    const line = await auto.waitForLog((l) => l.event === 'listening');
    const expected = defaultWorkers();
    if (expected > 1) assert.equal(line.workers, expected);
    else assert.equal(line.workers, undefined);
    await auto.stop();
    const one = await start([...base(), '--workers', '1']);
    const single = await one.waitForLog((l) => l.event === 'listening');
    assert.equal(single.workers, undefined, 'no cluster: the listening line is the single process\'s');
    assert.equal(single.worker_pids, undefined);
    assert.equal(await get(one.port, `${up.origin}/echo`), 200);
    const served = await one.waitForLog((l) => l.event === "http");
    assert.equal(served.worker, undefined, "no worker field in a single process");
  });

  it('--workers and EGRESSKIT_WORKERS are checked: a whole number from 1 to 256; a busy port is a usage error', async () => {
    for (const bad of ['0', '257', 'two', '1.5', '-1']) {
      const r = await runCli(['forward', '--workers', bad, '--admin', 'off']);
      assert.equal(r.code, 2, `--workers ${bad}: ${r.stderr}`);
      assert.match(r.stderr, /--workers .*expected a whole number from 1 to 256/);
    }
    // A worker's bind error reads as a single process's does.
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const taken = (busy.address() as AddressInfo).port;
    const b = await runCli(['forward', '--workers', '2', '--listen', `127.0.0.1:${taken}`, '--admin', 'off']);
    busy.close();
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken} \\(EADDRINUSE\\)`));
    const r = await runCli(['forward', '--admin', 'off'], { EGRESSKIT_WORKERS: 'lots' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /EGRESSKIT_WORKERS="lots": expected a whole number from 1 to 256/);
  });
});
