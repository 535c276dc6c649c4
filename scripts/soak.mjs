#!/usr/bin/env node
/* global fetch, AbortSignal */
// Soak: the real CLI in forward, mtls and inspect mode at once, mixed traffic against loopback
// destinations started here, then a check that every proxy returns to its idle fd count and
// RSS. Every few seconds it samples each proxy's RSS and open fds (/proc) and its heap and
// event-loop delay (the admin port's /metrics) into soak.csv in the work directory, and ends with
// a summary that has the slope per hour of each.
// Usage: npm run soak -- [--minutes N] (default 20). Exit 1 when fds or RSS stay up.
// Linux only (/proc). Plain Node, no dependencies beyond the repository's own.
import { Buffer } from 'node:buffer';
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tls from 'node:tls';
import { createInterface } from 'node:readline';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { fileURLToPath, URL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'egresskit');
const argMinutes = process.argv.indexOf('--minutes');
const MINUTES = argMinutes > 0 ? Number(process.argv[argMinutes + 1]) : 20;
if (!(MINUTES > 0)) throw new Error('--minutes takes a positive number');
const WORKERS = 3; // per mode: about a fifth of a core per proxy on a laptop
const OP_TIMEOUT = 20_000;
const HEADERS_TIMEOUT = '4s';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

// --- destinations -------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'egresskit-soak-'));
const certs = join(dir, 'certs');
execFileSync(process.execPath, [BIN, 'certs', 'mtls', '--out', certs]);
const pem = (f) => readFileSync(join(certs, f));

function handler(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/drop') return void req.socket.destroy();
  if (url.pathname === '/bytes') {
    let left = Number(url.searchParams.get('n') ?? 0);
    res.writeHead(200, { 'content-length': String(left) });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (left > 0) {
        const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= c.length;
        if (!res.write(c)) return void res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  res.end('ok');
}
function echoUpgrade(req, socket, head) {
  socket.on('error', () => undefined);
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\n`);
  if (head.length) socket.write(head);
  socket.on('data', (d) => (d.includes('bye') ? socket.end() : socket.write(d)));
  // Upgraded sockets allow half-open: a WebSocket server closes when its peer does.
  socket.on('end', () => socket.end());
}
async function listen(server) {
  server.keepAliveTimeout = 5000; // Node's default, spelled out: the destination closes idle connections
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server.address().port;
}
const plainServer = http.createServer(handler).on('upgrade', echoUpgrade);
const tlsServer = https.createServer({ cert: pem('server.crt'), key: pem('server.key') }, handler).on('upgrade', echoUpgrade);
const h2Server = http2.createSecureServer({ cert: pem('server.crt'), key: pem('server.key') }, handler);
const PLAIN = await listen(plainServer);
const TLS = await listen(tlsServer);
const H2 = await listen(h2Server);
const DENIED = 25; // not in the soak's policy: refused before any dial
const REFUSED = await new Promise((r) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});

// --- proxies --------------------------------------------------------------------------------
function startProxy(mode, extra, yaml) {
  const config = join(dir, `${mode}.yaml`);
  writeFileSync(config, `mode: ${mode}\ntimeouts: { headers: ${HEADERS_TIMEOUT} }\n${yaml}`);
  const args = [BIN, mode, '-c', config, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--connect-ports', [PLAIN, TLS, H2, REFUSED].join(','), ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const counts = new Map();
  const details = new Map();
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${mode} exited ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      let l;
      try {
        l = JSON.parse(line);
      } catch {
        return;
      }
      if (l.event === 'listening') {
        const portOf = (a) => Number(String(a).split(':').pop());
        resolve({ mode, child, port: portOf(l.proxy), adminPort: portOf(l.admin), counts, details, stderr: () => stderr });
      }
      else if (l.error) {
        counts.set(l.error, (counts.get(l.error) ?? 0) + 1);
        if (!details.has(l.error)) details.set(l.error, `${l.event} ${l.url ?? l.target ?? ''}: ${l.error_detail ?? ''}`.slice(0, 160));
      }
    });
  });
}
const proxies = await Promise.all([
  startProxy('forward', [], ''),
  startProxy('mtls', ['--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt')], ''),
  startProxy('inspect', ['--ui', 'off', '--ca-dir', join(dir, 'inspect-ca'), '--upstream-ca', join(certs, 'ca.crt')], 'inspect: { maxFlows: 50 }\n'),
]);
const inspectCa = readFileSync(join(dir, 'inspect-ca', 'ca.crt'));

// --- clients --------------------------------------------------------------------------------
function once(emitter, event) {
  return new Promise((resolve, reject) => {
    emitter.once(event, resolve);
    if (event !== 'error') emitter.once('error', reject);
  });
}
/** The TCP socket under a client stream, for resets. */
const rawOf = new WeakMap();
/** A connection to the proxy: TCP, or TLS with the client certificate for mtls. */
async function proxyConnection(p) {
  const raw = net.connect(p.port, '127.0.0.1');
  await once(raw, 'connect');
  if (p.mode !== 'mtls') return raw;
  const s = tls.connect({ socket: raw, servername: 'localhost', ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') });
  rawOf.set(s, raw);
  await once(s, 'secureConnect');
  return s;
}
/** Reads one HTTP/1.1 response head (and the bytes after it) from a socket. */
function readHead(s) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      s.off('data', onData);
      s.pause();
      const rest = buf.subarray(i + 4);
      if (rest.length) s.unshift(rest);
      const head = buf.subarray(0, i).toString('latin1');
      resolve({ status: Number(head.slice(9, 12)), length: Number(/content-length: (\d+)/i.exec(head)?.[1] ?? -1) });
    };
    s.on('data', onData);
    s.resume();
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before a response')));
  });
}
function readable(s) {
  return new Promise((resolve) => {
    const done = () => {
      s.off('readable', done);
      s.off('close', done);
      resolve();
    };
    s.on('readable', done);
    s.on('close', done);
  });
}
/** Reads exactly n body bytes, optionally slowly (bytes per 50 ms tick). */
async function readBody(s, n, perTick = Infinity) {
  let got = 0;
  while (got < n) {
    let tick = 0;
    for (let c = s.read(); c !== null; c = s.read()) {
      got += c.length;
      if ((tick += c.length) >= perTick) break;
    }
    if (got >= n) break;
    if (s.destroyed) throw new Error(`closed after ${got} of ${n} bytes`);
    await (perTick === Infinity ? readable(s) : sleep(50));
  }
  return got;
}
async function request(s, target, host, n = -1, perTick = Infinity) {
  s.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  const r = await readHead(s);
  if (r.length > 0) await readBody(s, r.length, perTick);
  if (n >= 0 && r.length !== n) throw new Error(`length ${r.length}, wanted ${n}`);
  return r.status;
}
/** CONNECT through the proxy; resolves with the status and, on 200, the socket. */
async function connectTo(p, host, port) {
  const s = await proxyConnection(p);
  s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
  const r = await readHead(s);
  return { status: r.status, s };
}
/** A TLS session to a destination through CONNECT, trusting what the mode presents. */
async function tunnelTls(p, port, alpn = ['http/1.1']) {
  const { status, s } = await connectTo(p, 'localhost', port);
  if (status !== 200) throw new Error(`CONNECT ${status}`);
  s.resume();
  const t = tls.connect({ socket: s, servername: 'localhost', ca: p.mode === 'inspect' ? inspectCa : pem('ca.crt'), ALPNProtocols: alpn });
  rawOf.set(t, rawOf.get(s) ?? s);
  await once(t, 'secureConnect');
  return t;
}
const expect = (what, got, want) => {
  if (!want.includes(got)) throw new Error(`${what}: ${got}, wanted ${want.join('/')}`);
};
const plainTarget = (path) => `http://127.0.0.1:${PLAIN}${path}`;
const host = (port) => `localhost:${port}`;

const ops = {
  async keepAlive(p) {
    const s = await proxyConnection(p);
    for (let i = 0; i < 3; i++) expect('plain GET', await request(s, plainTarget('/bytes?n=20000'), `127.0.0.1:${PLAIN}`, 20000), [200]);
    s.end();
  },
  async newTunnel(p) {
    const t = await tunnelTls(p, TLS);
    for (let i = 0; i < 2; i++) expect('tunnel GET', await request(t, '/bytes?n=30000', host(TLS), 30000), [200]);
    t.end();
  },
  async webSocket(p) {
    let s;
    if (p.mode === 'inspect') {
      s = await tunnelTls(p, TLS);
      s.write(`GET /ws HTTP/1.1\r\nHost: ${host(TLS)}\r\nConnection: Upgrade\r\nUpgrade: x-echo\r\n\r\n`);
    } else {
      s = await proxyConnection(p);
      s.write(`GET ${plainTarget('/ws')} HTTP/1.1\r\nHost: 127.0.0.1:${PLAIN}\r\nConnection: Upgrade\r\nUpgrade: x-echo\r\n\r\n`);
    }
    expect('Upgrade', (await readHead(s)).status, [101]);
    s.resume();
    s.write('ping');
    await once(s, 'data');
    // Closed by either side, in turn.
    if (Math.random() < 0.5) s.end();
    else s.write('bye');
    await once(s, 'close');
  },
  async http2(p) {
    const t = await tunnelTls(p, H2, ['h2']);
    const session = http2.connect(`https://localhost:${H2}`, { createConnection: () => t });
    session.on('error', () => undefined);
    await Promise.all(
      Array.from({ length: 5 }, () =>
        new Promise((resolve, reject) => {
          const req = session.request({ ':path': '/bytes?n=50000' });
          req.on('error', reject);
          req.resume();
          req.on('end', resolve);
        }),
      ),
    );
    session.close();
  },
  async slowReader(p) {
    const n = 2 * MiB;
    if (p.mode === 'inspect') {
      const t = await tunnelTls(p, TLS);
      expect('slow GET', await request(t, `/bytes?n=${n}`, host(TLS), n, 128 * 1024), [200]);
      t.end();
      return;
    }
    const s = await proxyConnection(p);
    expect('slow GET', await request(s, plainTarget(`/bytes?n=${n}`), `127.0.0.1:${PLAIN}`, n, 128 * 1024), [200]);
    s.end();
  },
  async clientReset(p) {
    const s = p.mode === 'inspect' ? await tunnelTls(p, TLS) : await proxyConnection(p);
    const target = p.mode === 'inspect' ? '/bytes?n=4000000' : plainTarget('/bytes?n=4000000');
    const h = p.mode === 'inspect' ? host(TLS) : `127.0.0.1:${PLAIN}`;
    s.write(`GET ${target} HTTP/1.1\r\nHost: ${h}\r\n${Math.random() < 0.5 ? '\r\n' : ''}`);
    await sleep(30);
    (rawOf.get(s) ?? s).resetAndDestroy();
  },
  async handshakeOnly(p) {
    const t = await tunnelTls(p, TLS);
    t.end();
    await once(t, 'close');
  },
  async silentClient(p) {
    const s = await proxyConnection(p);
    s.resume();
    // The proxy must close it at timeouts.headers; the soak does not wait forever either way.
    await Promise.race([once(s, 'close'), sleep(10_000)]);
    if (!s.destroyed) {
      s.destroy();
      throw new Error('silent client still open after 10 s');
    }
  },
  async upstreamCloses(p) {
    if (p.mode === 'inspect') {
      const t = await tunnelTls(p, TLS);
      expect('dropped GET', (await readHeadAfter(t, '/drop', host(TLS))).status, [502]);
      t.end();
      return;
    }
    const s = await proxyConnection(p);
    expect('dropped GET', (await readHeadAfter(s, plainTarget('/drop'), `127.0.0.1:${PLAIN}`)).status, [502]);
    s.end();
  },
  async refused(p) {
    const { status, s } = await connectTo(p, '127.0.0.1', REFUSED);
    expect('refused', status, [502]);
    s.destroy();
  },
  async unresolvable(p) {
    const { status, s } = await connectTo(p, 'no-such-host.invalid', TLS);
    expect('unresolvable', status, [502, 504]);
    s.destroy();
  },
  async denied(p) {
    const { status, s } = await connectTo(p, '127.0.0.1', DENIED);
    expect('denied', status, [403]);
    s.destroy();
  },
};
function readHeadAfter(s, target, h) {
  s.write(`GET ${target} HTTP/1.1\r\nHost: ${h}\r\n\r\n`);
  return readHead(s);
}

// --- measurement ----------------------------------------------------------------------------
const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const stats = new Map(proxies.map((p) => [p.mode, { ok: 0, failed: 0, failures: new Map(), samples: [], peakFds: 0, peakRss: 0 }]));

/** Heap in use and the event loop's p99 delay, from prom-client's default metrics on the admin port. */
async function runtimeMetrics(p) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${p.adminPort}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const value = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { heap: value('egresskit_nodejs_heap_size_used_bytes'), lagP99: value('egresskit_nodejs_eventloop_lag_p99_seconds') };
  } catch {
    return { heap: NaN, lagP99: NaN };
  }
}
const csvFile = join(dir, 'soak.csv');
writeFileSync(csvFile, 'time_s,mode,rss_mib,heap_mib,fds,eventloop_p99_ms\n');

async function runOp(p, name) {
  const st = stats.get(p.mode);
  let timer;
  try {
    await Promise.race([ops[name](p), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), OP_TIMEOUT)))]);
    st.ok++;
  } catch (err) {
    st.failed++;
    const key = `${name}: ${err.message}`.slice(0, 90);
    st.failures.set(key, (st.failures.get(key) ?? 0) + 1);
  } finally {
    clearTimeout(timer);
  }
}
async function settle(p, idleFds, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && fds(p.child.pid) > idleFds) await sleep(500);
  return fds(p.child.pid);
}

const names = Object.keys(ops).filter((n) => n !== 'silentClient');
console.log(`soak: ${MINUTES} min, forward/mtls/inspect, ${WORKERS} workers each; work dir ${dir}`);
// Warm-up: every kind once per mode, so what a proxy opens once and keeps counts as idle.
await Promise.all(proxies.flatMap((p) => [...names, 'silentClient'].map((n) => runOp(p, n))));
for (let i = 0; i < 6; i++) await Promise.all(proxies.flatMap((p) => names.map((n) => runOp(p, n))));
await sleep(7000); // the destinations' 5 s keep-alive closes the proxies' pooled connections
const idle = new Map(proxies.map((p) => [p.mode, { fds: fds(p.child.pid), rss: rss(p.child.pid) }]));
for (const st of stats.values()) {
  st.ok = 0;
  st.failed = 0;
  st.failures.clear();
}

const end = Date.now() + MINUTES * 60_000;
const t0 = Date.now();
const sampler = setInterval(() => {
  for (const p of proxies) {
    const st = stats.get(p.mode);
    const f = fds(p.child.pid);
    const r = rss(p.child.pid);
    const t = Date.now();
    void runtimeMetrics(p).then(({ heap, lagP99 }) => {
      st.samples.push({ t, rss: r, heap, fds: f, lag: lagP99 });
      appendFileSync(csvFile, `${((t - t0) / 1000).toFixed(1)},${p.mode},${(r / MiB).toFixed(1)},${(heap / MiB).toFixed(1)},${f},${(lagP99 * 1000).toFixed(1)}\n`);
    });
    st.peakFds = Math.max(st.peakFds, f);
    st.peakRss = Math.max(st.peakRss, r);
  }
}, 3000);
const progress = setInterval(() => {
  const left = Math.max(0, Math.round((end - Date.now()) / 1000));
  console.log(`  ${left}s left: ${proxies.map((p) => `${p.mode} ${stats.get(p.mode).ok} ok/${stats.get(p.mode).failed} failed, ${fds(p.child.pid)} fds`).join('; ')}`);
}, 30_000);
async function worker(p, w) {
  for (let i = 0; Date.now() < end; i++) {
    // One worker in three also holds a silent client now and then.
    const name = w === 0 && i % 10 === 0 ? 'silentClient' : names[Math.floor(Math.random() * names.length)];
    await runOp(p, name);
    await sleep(20 + Math.random() * 60);
  }
}
await Promise.all(proxies.flatMap((p) => Array.from({ length: WORKERS }, (_, w) => worker(p, w))));
clearInterval(sampler);
clearInterval(progress);

// --- verdict --------------------------------------------------------------------------------
console.log(`traffic done; waiting for the proxies to return to idle (up to 90 s): ${proxies.map((p) => `${p.mode} pid ${p.child.pid} idle ${idle.get(p.mode).fds} fds`).join(', ')}`);
const after = new Map();
await Promise.all(proxies.map(async (p) => after.set(p.mode, { fds: await settle(p, idle.get(p.mode).fds, 90_000), rss: rss(p.child.pid) })));
const mib = (b) => (b / MiB).toFixed(1);
/**
 * Least-squares slope of one sampled value over the second half of the run (the first half
 * includes warming caches and pools), per hour.
 */
function slope(samples, key) {
  const s = samples.slice(Math.floor(samples.length / 2)).filter((x) => Number.isFinite(x[key]));
  if (s.length < 3) return 0;
  const mt = s.reduce((a, x) => a + x.t, 0) / s.length;
  const mv = s.reduce((a, x) => a + x[key], 0) / s.length;
  const num = s.reduce((a, x) => a + (x.t - mt) * (x[key] - mv), 0);
  const den = s.reduce((a, x) => a + (x.t - mt) ** 2, 0);
  return den ? (num / den) * 3_600_000 : 0;
}
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
let failed = false;
const rows = [['mode', 'ops ok', 'ops failed', 'fds idle', 'fds peak', 'fds after', 'RSS idle MiB', 'RSS peak', 'RSS after', 'RSS MiB/h', 'heap MiB/h', 'fds/h', 'loop p99 ms (median)', 'verdict']];
for (const p of proxies) {
  const st = stats.get(p.mode);
  const i = idle.get(p.mode);
  const a = after.get(p.mode);
  // RSS: Node keeps a grown heap; a leak shows as growth well beyond that, not as a few MiB.
  const rssOk = a.rss <= Math.max(i.rss * 1.5, i.rss + 48 * MiB);
  const ok = a.fds <= i.fds && rssOk && p.child.exitCode === null;
  failed ||= !ok;
  rows.push([
    p.mode, st.ok, st.failed, i.fds, st.peakFds, a.fds, mib(i.rss), mib(st.peakRss), mib(a.rss),
    (slope(st.samples, 'rss') / MiB).toFixed(1), (slope(st.samples, 'heap') / MiB).toFixed(1), slope(st.samples, 'fds').toFixed(1),
    (median(st.samples.map((x) => x.lag)) * 1000).toFixed(1), ok ? 'ok' : a.fds > i.fds ? 'FDS UP' : 'RSS UP',
  ]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
for (const r of rows) console.log(r.map((v, c) => String(v).padStart(widths[c])).join('  '));
for (const p of proxies) {
  const st = stats.get(p.mode);
  if (st.failures.size) console.log(`${p.mode} client-side failures: ${[...st.failures].map(([k, v]) => `${v}x ${k}`).join('; ')}`);
  if (p.counts.size) console.log(`${p.mode} record errors: ${[...p.counts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (process.env.SOAK_DETAILS) for (const [k, v] of p.details) console.log(`  ${k}: ${v}`);
}

for (const p of proxies) p.child.kill('SIGTERM');
await Promise.all(proxies.map((p) => (p.child.exitCode === null ? once(p.child, 'exit').catch(() => undefined) : undefined)));
for (const s of [plainServer, tlsServer]) s.closeAllConnections();
for (const s of [plainServer, tlsServer, h2Server]) s.close();
console.log(`samples: ${csvFile}`);
console.log(failed ? 'soak: FAILED (fds or RSS did not return to idle)' : 'soak: ok');
process.exit(failed ? 1 : 0);
