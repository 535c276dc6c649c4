// Scale curves: turns bench/scale.sh's raw directory into JSON, a markdown table and an SVG plot.
//   node bench/lib/curves.mjs RAW_DIR OUT.json OUT.md [OUT.svg]
// Exit 1 when a proxy or one of its steps FAILED (did not start, opened no tunnels, served no
// request, a load generator exited non-zero), or the port-443 case failed; 0 otherwise.
// collectScale reads files; buildCurves and curvesSvg are pure (tested on sample data).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const readJSON = (f) => { try { return JSON.parse(readFileSync(f, 'utf8')); } catch { return null; } };
const readText = (f) => { try { return readFileSync(f, 'utf8'); } catch { return null; } };
const test = (dir, name) => ({
  result: readJSON(join(dir, `${name}.json`)), before: readJSON(join(dir, `${name}.before.json`)),
  after: readJSON(join(dir, `${name}.after.json`)), rc: Number((readText(join(dir, `${name}.rc`)) ?? 'NaN').trim()),
});

// ---- reading the raw directory
export function collectScale(raw) {
  const meta = readJSON(join(raw, 'meta.json')) ?? {};
  const order = (readText(join(raw, 'order.txt')) ?? '').trim().split(/\s+/).filter(Boolean);
  const proxies = order.map((name) => {
    const dir = join(raw, name);
    const status = readJSON(join(dir, 'status.json')) ?? { status: 'missing' };
    const steps = (meta.steps ?? []).map((n) => {
      const s = join(dir, `n${n}`);
      if (!existsSync(s)) return { n, error: 'not measured' };
      return {
        n, error: readJSON(join(s, 'error.json'))?.error ?? null,
        idle: readJSON(join(s, 'idle.json')), during: readJSON(join(s, 'hold_during.json')),
        ready: readJSON(join(s, 'hold.ready.json')), ka_hold: test(s, 'ka_hold'), ka_active: test(s, 'ka_active'),
      };
    });
    return { name, ...status, steps, startup: readJSON(join(dir, 'startup.json')) };
  });
  const d443 = join(raw, 'port443');
  let port443 = null;
  if (existsSync(d443)) {
    const err = readJSON(join(d443, 'error.json'))?.error ?? null;
    const names = (readText(join(d443, 'order.txt')) ?? '').split('\n').filter(Boolean);
    const variants = names.map((name, i) => {
      const vdir = join(d443, `v${i}`);
      const reps = existsSync(vdir) ? readdirSync(vdir).filter((r) => /^r\d+$/.test(r)).sort() : [];
      return {
        name, reps: reps.map((r) => {
          const rd = join(vdir, r);
          return { error: readJSON(join(rd, 'error.json'))?.error ?? null, tunnels: test(rd, 'tunnels'), keepalive: test(rd, 'keepalive') };
        }),
      };
    });
    port443 = { error: err, variants };
  }
  return { meta, proxies, port443 };
}

// ---- figures and verdicts (pure)
const cpu = (t) => {
  const a = t?.after?.proxy?.cpu_s, b = t?.before?.proxy?.cpu_s;
  return Number.isFinite(a) && Number.isFinite(b) ? a - b : null;
};
// share of the machine's CPU used by processes outside the bench during a test
export const foreign = (t) => {
  const b = t?.before, a = t?.after;
  if (!b?.sys || !a?.sys) return null;
  const total = a.sys.total_s - b.sys.total_s;
  return total > 0 ? Math.max(0, (a.sys.proc_s - b.sys.proc_s) - (a.mine_cpu_s - b.mine_cpu_s)) / total : null;
};
// the load generator's error samples grouped by kind (addresses and ports masked)
export function errorKinds(samples) {
  const kinds = {};
  for (const [msg, n] of Object.entries(samples ?? {})) {
    const k = msg.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR');
    kinds[k] = (kinds[k] ?? 0) + n;
  }
  return kinds;
}
// a load test's figures, or { failed: why }
export function loadFigures(t, perOp = 1e6) {
  const r = t?.result;
  if (!r) return { failed: 'no result' };
  if (Number.isFinite(t.rc) && t.rc !== 0) return { failed: `load generator exited ${t.rc}` };
  if (!(r.ok > 0)) return { failed: `no request succeeded (${r.errors ?? 0} errors)` };
  const c = cpu(t);
  return {
    rate: r.rate_per_s, p50_ms: r.latency_ms?.p50 ?? null, p99_ms: r.latency_ms?.p99 ?? null, ok: r.ok, errors: r.errors ?? 0,
    error_kinds: errorKinds(r.error_samples),
    cpu_per_op: c == null ? null : (c / r.ok) * perOp, foreign: foreign(t),
  };
}

export function stepFigures(s) {
  const why = [];
  const out = { n: s.n };
  if (s.error) why.push(s.error);
  const open = s.ready?.open ?? 0;
  out.open = open;
  if (s.idle?.proxy && s.during?.proxy && open > 0) {
    out.rss_idle_MiB = s.idle.proxy.rss_kb / 1024;
    out.rss_hold_MiB = s.during.proxy.rss_kb / 1024;
    out.KiB_per_tunnel = (s.during.proxy.rss_kb - s.idle.proxy.rss_kb) / open;
  } else if (!s.error) why.push(`no tunnel held (${open} of ${s.n} open)`);
  if (open > 0 && open < s.n) why.push(`only ${open} of ${s.n} tunnels opened (${s.ready?.errors ?? '?'} errors)`);
  out.hold_load = loadFigures(s.ka_hold);
  out.active = loadFigures(s.ka_active);
  if (!s.error && out.hold_load.failed) why.push(`keep-alive with ${s.n} held: ${out.hold_load.failed}`);
  if (out.active.failed) why.push(`keep-alive over ${s.n} active tunnels: ${out.active.failed}`);
  out.failed = why.length > 0;
  out.why = why;
  return out;
}

export function buildCurves(data) {
  const failures = [];
  const proxies = data.proxies.map((p) => {
    const steps = (p.steps ?? []).map(stepFigures);
    const why = [];
    if (p.status !== 'ok') why.push(`status "${p.status ?? 'missing'}"`);
    for (const s of steps) if (s.failed) why.push(`n=${s.n}: ${s.why.join('; ')}`);
    const su = p.startup;
    const startup = su && Number.isFinite(su.ms_median) ? { ms: su.ms_median, ok: su.ok, failed: su.failed } : null;
    if (su && !startup) why.push(`start-up: ${su.error ?? 'no figure'}`);
    else if (su?.failed) why.push(`start-up failed in ${su.failed} of ${su.reps_asked} reps`);
    if (why.length) failures.push(`${p.name}: ${why.join('; ')}`);
    return { name: p.name, kind: p.kind, version: p.version, status: p.status, failed: why.length > 0, steps, startup };
  });
  let port443 = null;
  if (data.port443) {
    const variants = data.port443.variants.map((v) => {
      const reps = v.reps.map((r) => ({ error: r.error, tunnels: loadFigures(r.tunnels, 1e3), keepalive: loadFigures(r.keepalive, 1e6) }));
      const bad = reps.filter((r) => r.error || r.tunnels.failed || r.keepalive.failed)
        .map((r) => r.error ?? r.tunnels.failed ?? r.keepalive.failed);
      if (!reps.length) bad.push('not measured');
      if (bad.length) failures.push(`port 443 / ${v.name}: ${bad.join('; ')}`);
      return { name: v.name, reps, failed: bad.length > 0 };
    });
    if (data.port443.error) failures.push(`port 443: ${data.port443.error}`);
    port443 = { error: data.port443.error, variants };
  }
  const out = { schema: 'egresskit-scale/1', meta: data.meta, proxies, port443, failures };
  return { ...out, markdown: curvesMarkdown(out) };
}

const f = (v, d = 1) => (v == null || !Number.isFinite(v) ? '—' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(d));
const pct = (v) => (v == null ? '—' : `${Math.round(v * 100)}%`);
export const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b), m = v.length >> 1;
  return !v.length ? null : v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

function curvesMarkdown(c) {
  const m = c.meta ?? {}, md = [];
  md.push(`# Scale curves — ${m.stamp ?? ''}`, '');
  md.push(`${m.nproc ?? '?'} cores shared by client, proxy and upstream (and other users of the machine: see "foreign"); hard fd limit ${m.fd_hard_limit ?? '?'}. ` +
    `egresskit on node ${m.egresskit_node ?? '?'} with \`${m.egresskit_args ?? ''}\`. Per step, on a fresh proxy: N idle tunnels held (memory), a keep-alive load of ${m.concurrency} connections ` +
    `while they are held (${m.duration_s} s), then keep-alive over N active tunnels at once (${m.active_duration_s} s; latency per request, handshakes not counted). Absolute figures are noise on a shared machine; compare proxies within this table.`, '');
  md.push('| proxy | N | status | KiB/idle tunnel | RSS held MiB | req/s, N held | p99 ms | CPU µs/req | req/s, N active | p50 ms | p99 ms | errors | foreign CPU |');
  md.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of c.proxies) {
    if (!p.steps.length) md.push(`| ${p.name} | — | **FAILED** (${p.status}) |` + ' — |'.repeat(10));
    for (const s of p.steps) {
      const h = s.hold_load, a = s.active;
      md.push(`| ${p.name} | ${s.n.toLocaleString('en-US')} | ${s.failed ? '**FAILED**' : 'ok'} | ${f(s.KiB_per_tunnel)} | ${f(s.rss_hold_MiB)} | ${f(h.rate, 0)} | ${f(h.p99_ms, 2)} | ${f(h.cpu_per_op, 0)} | ` +
        `${f(a.rate, 0)} | ${f(a.p50_ms, 2)} | ${f(a.p99_ms, 1)} | ${(h.errors ?? 0) + (a.errors ?? 0)} | ${pct(a.foreign)} |`);
    }
  }
  md.push('', '| proxy | start to accept (restart), median ms | version |', '|---|---:|---|');
  for (const p of c.proxies) md.push(`| ${p.name} | ${p.startup ? `${f(p.startup.ms)}${p.startup.failed ? ` (${p.startup.ok} good starts)` : ''}` : 'FAILED / not measured'} | ${p.version ?? ''} |`);
  if (c.port443) {
    md.push('', '## Port 443: the SNI peek', '', 'egresskit forward to an HTTPS upstream on 127.0.0.1:443 (its SNI check reads the ClientHello there) and, as a control, to 18443 (not an --sni-ports port). Medians over interleaved reps.', '');
    md.push('| variant | status | new tunnels/s | tunnel p99 ms | CPU ms/tunnel | keep-alive req/s | CPU µs/ka req | reps |', '|---|---|---:|---:|---:|---:|---:|---:|');
    for (const v of c.port443.variants) {
      const g = (k, x) => median(v.reps.map((r) => r[k][x]));
      md.push(`| ${v.name} | ${v.failed ? '**FAILED**' : 'ok'} | ${f(g('tunnels', 'rate'), 0)} | ${f(g('tunnels', 'p99_ms'), 2)} | ${f(g('tunnels', 'cpu_per_op'), 3)} | ${f(g('keepalive', 'rate'), 0)} | ${f(g('keepalive', 'cpu_per_op'), 0)} | ${v.reps.length} |`);
    }
    if (c.port443.error) md.push('', `Port-443 case FAILED: ${c.port443.error}`);
  }
  const errs = c.proxies.flatMap((p) => p.steps.flatMap((s) => [['N held', s.hold_load], ['N active', s.active]]
    .filter(([, t]) => t.errors > 0)
    .map(([what, t]) => `- ${p.name}, N=${s.n}, ${what}: ${t.errors} errors beside ${t.ok} requests (${(100 * t.errors / (t.errors + t.ok)).toFixed(1)}%); samples: ${Object.entries(t.error_kinds ?? {}).map(([k, n]) => `${n}× ${k}`).join('; ')}`)));
  if (errs.length) md.push('', 'Errors (a request that failed; the step still measured the others):', '', ...errs);
  md.push('', c.failures.length ? `FAILED (${c.failures.length}):` : 'No proxy or step failed.');
  for (const x of c.failures) md.push(`- ${x}`);
  return md.join('\n') + '\n';
}

// ---- SVG: three panels (req/s with N active, p99 with N active, KiB per idle tunnel) over log N
export function curvesSvg(c) {
  const panels = [['req/s, N active tunnels', (s) => s.active.rate], ['p99 ms, N active', (s) => s.active.p99_ms], ['KiB per idle tunnel', (s) => s.KiB_per_tunnel]];
  const W = 300, H = 200, pad = 40, colors = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd'];
  const ns = c.proxies.flatMap((p) => p.steps.map((s) => s.n));
  const lx0 = Math.log10(Math.min(...ns, 10)), lx1 = Math.max(Math.log10(Math.max(...ns, 10)), lx0 + 1);
  const parts = [];
  panels.forEach(([title, get], i) => {
    const ox = i * (W + 20);
    const pts = c.proxies.map((p) => p.steps.map((s) => [s.n, get(s)]).filter(([, y]) => Number.isFinite(y)));
    const ymax = Math.max(1e-9, ...pts.flat().map(([, y]) => y)) * 1.1;
    const X = (n) => ox + pad + ((Math.log10(n) - lx0) / (lx1 - lx0)) * (W - pad - 10);
    const Y = (y) => H - pad + 10 - (Math.max(0, y) / ymax) * (H - pad - 10);
    parts.push(`<text x="${ox + W / 2}" y="14" text-anchor="middle" font-size="12">${title}</text>`);
    parts.push(`<line x1="${ox + pad}" y1="${H - pad + 10}" x2="${ox + W - 10}" y2="${H - pad + 10}" stroke="#000"/><line x1="${ox + pad}" y1="20" x2="${ox + pad}" y2="${H - pad + 10}" stroke="#000"/>`);
    parts.push(`<text x="${ox + pad - 4}" y="26" text-anchor="end" font-size="9">${f(ymax, 0)}</text><text x="${ox + pad - 4}" y="${H - pad + 10}" text-anchor="end" font-size="9">0</text>`);
    for (const n of [...new Set(ns)]) parts.push(`<text x="${X(n)}" y="${H - pad + 22}" text-anchor="middle" font-size="9">${n}</text>`);
    pts.forEach((line, j) => {
      if (line.length) parts.push(`<polyline fill="none" stroke="${colors[j % colors.length]}" stroke-width="2" points="${line.map(([n, y]) => `${X(n).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
    });
  });
  c.proxies.forEach((p, j) => parts.push(`<text x="${10 + j * 160}" y="${H + 8}" font-size="11" fill="${colors[j % colors.length]}">${p.name}${p.failed ? ' (FAILED)' : ''}</text>`));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${3 * W + 40}" height="${H + 16}" font-family="sans-serif">${parts.join('')}</svg>\n`;
}

function main([raw, outJson, outMd, outSvg]) {
  if (!raw || !outJson || !outMd) { console.error('usage: node curves.mjs RAW_DIR OUT.json OUT.md [OUT.svg]'); return 2; }
  const c = buildCurves(collectScale(raw));
  const { markdown, ...json } = c;
  writeFileSync(outJson, JSON.stringify(json, null, 1) + '\n');
  writeFileSync(outMd, markdown);
  if (outSvg) writeFileSync(outSvg, curvesSvg(c));
  process.stdout.write(markdown);
  return c.failures.length ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main(process.argv.slice(2)));
