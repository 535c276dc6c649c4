#!/usr/bin/env node
// Fills Node's module compile cache (Node >= 22.1) by starting each proxy mode once on loopback
// and stopping it: the image runs this at build time (Dockerfile), so its first start is as
// fast as a restart. The cache lands in NODE_COMPILE_CACHE, in a subdirectory named for the
// Node version and the user id: run it as the user the proxy runs as. Nothing to do on Node 20.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

if (typeof module.enableCompileCache !== 'function') {
  console.log(`warm-compile-cache: node ${process.version} has no module compile cache; nothing to do`);
  process.exit(0);
}
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'egresskit');
const dir = mkdtempSync(join(tmpdir(), 'egresskit-warm-'));
execFileSync(process.execPath, [BIN, 'certs', 'mtls', '--out', join(dir, 'certs')], { stdio: 'ignore' });
const common = ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'];
const runs = [
  ['forward', ...common],
  ['mtls', ...common, '--cert', join(dir, 'certs', 'server.crt'), '--key', join(dir, 'certs', 'server.key'), '--client-ca', join(dir, 'certs', 'ca.crt')],
  ['inspect', ...common, '--ui', '127.0.0.1:0', '--ca-dir', join(dir, 'ca')],
];
for (const args of runs) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`egresskit ${args[0]} exited ${code} before listening`)));
    createInterface({ input: child.stdout }).on('line', (line) => line.includes('"event":"listening"') && resolve());
  });
  // A clean exit (SIGTERM drains, then exits 0) is when Node writes the cache.
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`egresskit ${args[0]} exited ${code} on SIGTERM`);
  console.log(`warm-compile-cache: ${args[0]} done`);
}
rmSync(dir, { recursive: true, force: true });
