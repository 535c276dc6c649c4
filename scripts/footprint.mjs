#!/usr/bin/env node
// Footprint: what each mode costs in memory, measured on the real CLI against loopback
// destinations started here. For forward, mtls and inspect in turn, on a fresh proxy:
//   - RSS idle, then with N idle tunnels held open (per-tunnel cost = the difference / N);
//     an inspect tunnel is intercepted (TLS both sides, one exchange done, connection kept);
//   - peak RSS while one client downloads SIZE bytes through it (bounded relay buffers);
//   - the header timeout's real bound: a client that sends one header byte a second is cut
//     how long after it connected, against timeouts.headers.
// Usage: npm run footprint -- [--tunnels N] [--download-mib M] [--modes forward,mtls,inspect]
// Linux only (/proc). Each proxy holds 2 fds per tunnel; with this machine's 20,000 fd limit,
// N is at most about 9,500. Figures vary with the runtime (EGRESSKIT_NODE picks another node).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tls from 'node:tls';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { clearInterval, setInterval, setTimeout } from 'node:timers';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'egresskit');
const NODE = process.env.EGRESSKIT_NODE ?? process.execPath;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const TUNNELS = Number(arg('--tunnels', '9000'));
const DOWNLOAD = Number(arg('--download-mib', '1024')) * 1024 * 1024;
const MODES = arg('--modes', 'forward,mtls,inspect').split(',');
const HEADERS_TIMEOUT_S = 5;
const MiB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'egresskit-footprint-'));
const certs = join(dir, 'certs');
execFileSync(process.execPath, [BIN, 'certs', 'mtls', '--out', certs]);
const pem = (f) => readFileSync(join(certs, f));

// --- destinations, in their own process: the proxy holds N upstream sockets, so do they --------
const UPSTREAM_SRC = `
const http = require('node:http'), https = require('node:https'), fs = require('node:fs');
const chunk = Buffer.alloc(256 * 1024, 'x');
function handler(req, res) {
  const n = Number(new URL(req.url, 'http://x').searchParams.get('bytes') ?? 2);
  res.writeHead(200, { 'content-length': String(n) });
  let left = n;
  const pump = () => { while (left > 0) { const c = left >= chunk.length ? chunk : chunk.subarray(0, left); left -= c.length; if (!res.write(c)) return void res.once('drain', pump); } res.end(); };
  pump();
}
const opts = { keepAliveTimeout: 600000, headersTimeout: 0, requestTimeout: 0 };
const plain = http.createServer(opts, handler);
const secure = https.createServer({ ...opts, cert: fs.readFileSync(process.argv[1] + '/server.crt'), key: fs.readFileSync(process.argv[1] + '/server.key') }, handler);
plain.maxConnections = secure.maxConnections = 20000;
plain.listen(0, '127.0.0.1', () => secure.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ plain: plain.address().port, tls: secure.address().port }))));
`;
const upstream = spawn(process.execPath, ['-e', UPSTREAM_SRC, certs], { stdio: ['ignore', 'pipe', 'inherit'] });
const ports = await new Promise((resolve) => createInterface({ input: upstream.stdout }).once('line', (l) => resolve(JSON.parse(l))));

// --- the proxy under test -----------------------------------------------------------------
function startProxy(mode) {
  const config = join(dir, `${mode}.yaml`);
  writeFileSync(config, `mode: ${mode}\ntimeouts: { headers: ${HEADERS_TIMEOUT_S}s, idle: 1h }\nlimits: { maxConnections: 20000 }\ninspect: { ui: 'off' }\n`.replace(mode === 'inspect' ? '' : /inspect:.*\n/, ''));
  const extra = {
    forward: [],
    mtls: ['--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt')],
    inspect: ['--ca-dir', join(dir, 'inspect-ca'), '--upstream-ca', join(certs, 'ca.crt')],
  }[mode];
  const args = [BIN, mode, '-c', config, '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', `${ports.plain},${ports.tls}`, ...extra];
  const child = spawn(NODE, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${mode} exited ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const l = JSON.parse(line);
        if (l.event === 'listening') resolve({ mode, child, port: Number(String(l.proxy).split(':').pop()) });
      } catch {
        // not a log line
      }
    });
  });
}
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

// --- clients ------------------------------------------------------------------------------
function readHead(s) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      s.off('error', reject);
      // What came after the head is returned, not unshifted: a stream with no 'data' listener left would drop it.
      resolve({ head: buf.slice(0, end), rest: buf.length - end - 4 });
    };
    s.on('data', onData);
    s.once('error', reject);
  });
}
async function proxySocket(p) {
  if (p.mode !== 'mtls') {
    const s = net.connect(p.port, '127.0.0.1');
    await new Promise((r, j) => s.once('connect', r).once('error', j));
    return s;
  }
  const s = tls.connect({ port: p.port, host: '127.0.0.1', servername: 'localhost', ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') });
  await new Promise((r, j) => s.once('secureConnect', r).once('error', j));
  return s;
}
/** A tunnel to the destination; in inspect mode, TLS through the minted leaf. */
async function tunnel(p, inspectCa) {
  const s = await proxySocket(p);
  const port = p.mode === 'inspect' ? ports.tls : ports.plain;
  s.write(`CONNECT localhost:${port} HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
  const { head } = await readHead(s);
  if (!head.startsWith('HTTP/1.1 200')) throw new Error(`${p.mode}: CONNECT answered ${head}`);
  if (p.mode !== 'inspect') return s;
  const t = tls.connect({ socket: s, servername: 'localhost', ca: inspectCa, ALPNProtocols: ['http/1.1'] });
  await new Promise((r, j) => t.once('secureConnect', r).once('error', j));
  return t;
}
async function get(s, port, bytes) {
  s.write(`GET /?bytes=${bytes} HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
  const { head, rest } = await readHead(s);
  const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
  if (!head.startsWith('HTTP/1.1 200')) throw new Error(`GET answered ${head.split('\r\n')[0]}`);
  let got = rest;
  if (got >= length) return;
  await new Promise((resolve, reject) => {
    const onData = (d) => {
      got += d.length;
      if (got >= length) {
        s.off('data', onData);
        resolve();
      }
    };
    s.on('data', onData);
    s.once('error', reject);
  });
}

async function measure(mode) {
  const step = (what) => process.env.FOOTPRINT_DEBUG && console.error(`  ${mode}: ${what}`);
  const p = await startProxy(mode);
  const inspectCa = mode === 'inspect' ? readFileSync(join(dir, 'inspect-ca', 'ca.crt')) : undefined;
  const out = { mode };
  const destPort = mode === 'inspect' ? ports.tls : ports.plain;
  // Warm-up: one of everything, so what the proxy loads once is counted as idle.
  const warm = await tunnel(p, inspectCa);
  await get(warm, destPort, 1024);
  warm.destroy();
  await sleep(1500);
  out.idleMiB = rss(p.child.pid) / MiB;
  step('idle measured');

  // One big download; the peak is sampled every 50 ms.
  let peak = rss(p.child.pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rss(p.child.pid))), 50);
  const s = await tunnel(p, inspectCa);
  const t1 = Date.now();
  await get(s, destPort, DOWNLOAD);
  out.downloadSeconds = (Date.now() - t1) / 1000;
  clearInterval(sampler);
  s.destroy();
  out.downloadPeakMiB = peak / MiB;
  step('download measured');

  // N idle tunnels, 200 opening at a time; their cost is counted from what the proxy holds now.
  await sleep(1500);
  const beforeTunnels = rss(p.child.pid) / MiB;
  const held = [];
  const t0 = Date.now();
  for (let i = 0; i < TUNNELS; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, TUNNELS - i) }, async () => {
        const s = await tunnel(p, inspectCa);
        if (mode === 'inspect') await get(s, destPort, 2);
        return s;
      }),
    );
    held.push(...batch);
  }
  const openS = (Date.now() - t0) / 1000;
  await sleep(2000);
  out.heldMiB = rss(p.child.pid) / MiB;
  out.kibPerTunnel = ((out.heldMiB - beforeTunnels) * 1024) / TUNNELS;
  out.openSeconds = openS;
  for (const s of held) s.destroy();
  await sleep(3000);
  out.afterTunnelsMiB = rss(p.child.pid) / MiB;
  step('tunnels measured');

  // The header timeout's real bound: one byte a second, never a complete head.
  const slow = await proxySocket(p);
  const t2 = Date.now();
  const drip = setInterval(() => slow.writable && slow.write('X'), 1000);
  slow.write('GET http://localhost/ HTTP/1.1\r\nX-Slow: ');
  await new Promise((r) => {
    slow.once('close', r);
    slow.on('error', () => undefined);
    slow.on('data', () => undefined);
  });
  clearInterval(drip);
  out.headerCutSeconds = (Date.now() - t2) / 1000;

  p.child.kill('SIGTERM');
  await new Promise((r) => p.child.once('exit', r));
  return out;
}

const node = execFileSync(NODE, ['--version']).toString().trim();
console.log(`footprint: ${TUNNELS} idle tunnels, a ${DOWNLOAD / MiB} MiB download, headers timeout ${HEADERS_TIMEOUT_S}s; node ${node}`);
// The download runs first, on the idle proxy: Node keeps the heap N tunnels grew, so a peak
// taken after them would measure that instead of the relay's buffers.
const rows = [['mode', 'RSS idle MiB', 'download peak MiB', 'download s', `RSS ${TUNNELS} tunnels`, 'KiB/tunnel', 'after close', 'header cut s']];
for (const mode of MODES) {
  const r = await measure(mode);
  rows.push([mode, r.idleMiB.toFixed(1), r.downloadPeakMiB.toFixed(1), r.downloadSeconds.toFixed(1), r.heldMiB.toFixed(1), r.kibPerTunnel.toFixed(1), r.afterTunnelsMiB.toFixed(1), r.headerCutSeconds.toFixed(1)]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
for (const r of rows) console.log(r.map((v, c) => String(v).padStart(widths[c])).join('  '));
upstream.kill();
