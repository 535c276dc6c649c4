import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { ExecResult } from './exec.js';

// Network namespaces standing in for Pods. Everything here goes through `ip -n NS ...` or
// `ip netns exec NS ...`, so links, addresses and routes are only ever made inside namespaces
// the test created: the host's interfaces, routes, sysctls and firewall are never touched.

/** The argv prefix that runs a command inside `ns` (for startCli's `prefix`). */
export const inNetns = (ns: string): string[] => ['ip', 'netns', 'exec', ns];

function execIp(args: string[], timeoutMs = 10_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile('ip', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `ip ARGS`, throwing with ip's own message when it fails. */
export async function ip(args: string[]): Promise<string> {
  const r = await execIp(args);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Why network namespaces cannot be used here, or false when they can (root and a working `ip netns`). */
export async function netnsUnavailable(probeName: string): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces (CI runs as root)';
  const add = await execIp(['netns', 'add', probeName]);
  if (add.code !== 0) return `ip netns is unavailable (ip netns add: ${add.stderr.trim() || `exit ${add.code}`}); needs iproute2 and CAP_SYS_ADMIN`;
  await execIp(['netns', 'del', probeName]);
  return false;
}

/** Names of the existing network namespaces. */
export async function listNetns(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
}

/** A new namespace with its loopback up (as a Pod's). */
export async function createNetns(name: string): Promise<void> {
  await ip(['netns', 'add', name]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
}

/**
 * Deletes a namespace, first ending any process still inside it (only ever processes this test
 * suite started there: a server or proxy left behind by a crashed run keeps the namespace, and
 * its veth links, alive after `ip netns del`). Missing namespaces are fine.
 */
export async function destroyNetns(name: string): Promise<void> {
  const pids = await execIp(['netns', 'pids', name]);
  for (const pid of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await execIp(['netns', 'del', name]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes namespaces named `${prefix}${pid}-...` whose test process no longer runs (left by a
 * crashed or killed run). Those of a run still going (another pid) are left alone.
 */
export async function removeStaleNetns(prefix: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listNetns()) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) continue;
    await destroyNetns(name);
    removed.push(name);
  }
  return removed;
}

/**
 * A veth pair between two namespaces, created directly inside them (never in the host's
 * namespace), so each end can have a Pod-like name such as eth0.
 */
export async function linkNetns(a: { ns: string; dev: string }, b: { ns: string; dev: string }): Promise<void> {
  await ip(['-n', a.ns, 'link', 'add', a.dev, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns]);
}

/** Gives `dev` in `ns` an address (CIDR form, which also adds the on-link route) and brings it up. */
export async function addAddr(ns: string, dev: string, cidr: string): Promise<void> {
  await ip(['-n', ns, 'addr', 'add', cidr, 'dev', dev]);
  await ip(['-n', ns, 'link', 'set', dev, 'up']);
}

/** A route inside `ns`: to `dest` via a gateway, or on-link through `dev`. */
export async function addRoute(ns: string, dest: string, via: { gateway?: string; dev?: string }): Promise<void> {
  const args = ['-n', ns, 'route', 'add', dest];
  if (via.gateway) args.push('via', via.gateway);
  if (via.dev) args.push('dev', via.dev);
  await ip(args);
}

/** Removes a route addRoute added. */
export async function delRoute(ns: string, dest: string): Promise<void> {
  await ip(['-n', ns, 'route', 'del', dest]);
}

/** `ip -n NS route` (the namespace's main routing table). */
export const routes = (ns: string): Promise<string> => ip(['-n', ns, 'route', 'show']);

/**
 * Runs a command inside `ns` with EXACTLY `env` (plus PATH to find the program): nothing from
 * the test runner's environment leaks in, so a client sees only what a Pod would be given.
 */
export function execIn(ns: string, cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, cmd, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Starts a long-running command inside `ns` (`ip netns exec` execs it, so the child's pid is the command's). */
export function spawnIn(ns: string, cmd: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}
