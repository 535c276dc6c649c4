// Side-by-side summary of one or more runs of the shared harness (one per runtime / worker
// count), and the verdict of each proxy in them. Pure functions plus a small CLI:
//   node bench/lib/summary.mjs [--out FILE.md] [--expect "name name ..."] LABEL=RESULT.json ...
// Exit 1 when any expected proxy FAILED (missing, not ok, failed a sanity check, or measured
// zero / nothing on a test that applies to it), 0 otherwise. The performance targets are a
// separate question (the harness's report/targets.mjs); a MISS there is not a failed run.
import { readFileSync, writeFileSync } from 'node:fs';

// The peer each egresskit mode is compared with by the targets (same run).
export const PEER = { 'egresskit-forward': 'squid', 'egresskit-mtls': 'stunnel-tinyproxy', 'egresskit-inspect': 'mitmproxy' };

// [key, column, kind: 'load' (ratio to direct) | 'cost']
export const COLUMNS = [
  ['bulk_http_MBps', 'bulk http MB/s', 'load'],
  ['bulk_https_MBps', 'bulk https MB/s', 'load'],
  ['tunnels_per_s', 'new tunnels/s', 'load'],
  ['tunnels_p99_ms', 'tunnel p99 ms', 'cost'],
  ['keepalive_rps', 'keep-alive req/s', 'load'],
  ['keepalive_p99_ms', 'keep-alive p99 ms', 'cost'],
  ['fwd_lg_rps', 'plain-HTTP req/s', 'load'],
  ['cpu_ms_per_tunnel', 'CPU ms/tunnel', 'cost'],
  ['cpu_us_per_keepalive_req', 'CPU µs/ka req', 'cost'],
  ['cpu_s_per_GB_https', 'CPU s/GB https', 'cost'],
  ['hold_KiB_per_tunnel', 'KiB/idle tunnel', 'cost'],
  ['rss_idle_MiB', 'RSS idle MiB', 'cost'],
  ['rss_peak_load_MiB', 'peak RSS MiB', 'cost'],
  ['startup_ms', 'start ms', 'cost'],
];

const positive = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;

// The figures a proxy must have, given its kind and the run's configuration: every throughput
// test applies to every proxy (wrk only where it can reach the proxy); memory and start-up to
// every proxy but direct when the run asked for them.
export function requiredMetrics(p, config = {}) {
  const keys = ['bulk_http_MBps', 'bulk_https_MBps', 'tunnels_per_s', 'keepalive_rps', 'fwd_lg_rps'];
  const url = p.url ?? '';
  if (p.name === 'direct' || url.startsWith('http://')) keys.push('fwd_wrk_rps');
  if (p.name !== 'direct' && (config.hold_tunnels ?? 0) > 0) keys.push('hold_open');
  if (p.name !== 'direct' && (config.startup_reps ?? 0) > 0) keys.push('startup_ms');
  return keys;
}

// { failed: boolean, why: string[] } for one proxy of one result (p undefined: not in the run)
export function verdict(p, config = {}, name = p?.name) {
  if (!p) return { failed: true, why: [`${name}: not in the run (no result)`] };
  const why = [];
  if (p.status !== 'ok') why.push(`status "${p.status ?? 'missing'}"`);
  const want = (k) => (k === 'tls_intercepted' ? p.kind === 'inspect' : true);
  const bad = Object.entries(p.sanity ?? {}).filter(([k, v]) => v !== null && v !== want(k)).map(([k, v]) => `${k}=${v}`);
  if (p.status === 'ok' && !p.sanity) why.push('no sanity checks recorded');
  if (bad.length) why.push(`sanity checks failed: ${bad.join(', ')}`);
  if (p.status === 'ok') {
    const zero = requiredMetrics(p, config).filter((k) => !positive(p.metrics?.[k]));
    if (zero.length) why.push(`measured zero or nothing: ${zero.join(', ')}`);
    if (p.startup?.failed) why.push(`start-up failed in ${p.startup.failed} of ${p.startup.reps_asked} reps`);
  }
  return { failed: why.length > 0, why };
}

const fmt = (v) => {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
};
const ratio = (a, b) => (positive(a) && positive(b) ? a / b : null);
const fmtRatio = (r) => (r == null ? '' : ` (${r.toFixed(2)}×)`);

// the largest share of the machine's CPU that processes outside the bench used during one of
// this proxy's tests (the harness's noise figures): a figure measured under it is depressed
export function maxForeign(p) {
  const shares = Object.values(p?.noise ?? {}).map((n) => n?.foreign_share).filter(Number.isFinite);
  return shares.length ? Math.max(...shares) : null;
}

// runs: [{ label, result (the harness's JSON, or null), error? , expect?: [names] }]
// Returns { rows, failures, markdown }. A row per proxy per run; a proxy a run was asked for
// but that is absent from its result is a FAILED row; a run with no result is a FAILED row.
export function buildSummary(runs) {
  const rows = [], failures = [];
  for (const run of runs) {
    const d = run.result;
    if (!d) {
      const why = [run.error ?? 'the run wrote no result'];
      rows.push({ run: run.label, name: '(whole run)', failed: true, why, cells: {} });
      failures.push(`${run.label}: ${why[0]}`);
      continue;
    }
    const config = d.meta?.config ?? {};
    const by = Object.fromEntries((d.proxies ?? []).map((p) => [p.name, p]));
    const names = [...new Set([...(run.expect ?? []), ...(d.proxies ?? []).map((p) => p.name)])];
    const direct = by.direct;
    for (const name of names) {
      const p = by[name];
      const v = verdict(p, config, name);
      const cells = {};
      for (const [k, , kind] of COLUMNS) {
        const val = p?.metrics?.[k];
        cells[k] = fmt(val) + (kind === 'load' && name !== 'direct' ? fmtRatio(ratio(val, direct?.metrics?.[k])) : '');
      }
      const peer = PEER[name] && by[PEER[name]];
      const vsPeer = peer ? {
        peer: peer.name,
        tunnels: ratio(p?.metrics?.tunnels_per_s, peer.metrics?.tunnels_per_s),
        keepalive: ratio(p?.metrics?.keepalive_rps, peer.metrics?.keepalive_rps),
        cpu_tunnel: ratio(p?.metrics?.cpu_ms_per_tunnel, peer.metrics?.cpu_ms_per_tunnel),
        cpu_ka: ratio(p?.metrics?.cpu_us_per_keepalive_req, peer.metrics?.cpu_us_per_keepalive_req),
        kib: ratio(p?.metrics?.hold_KiB_per_tunnel, peer.metrics?.hold_KiB_per_tunnel),
      } : null;
      rows.push({ run: run.label, name, version: p?.version ?? '', failed: v.failed, why: v.why, cells, vsPeer, foreign: maxForeign(p) });
      if (v.failed) failures.push(`${run.label} / ${name}: ${v.why.join('; ')}`);
    }
  }
  return { rows, failures, markdown: toMarkdown(runs, rows, failures) };
}

function toMarkdown(runs, rows, failures) {
  const md = [];
  md.push('| run | proxy | status | ' + COLUMNS.map(([, c]) => c).join(' | ') + ' | foreign CPU (max) |');
  md.push('|---|---|---|' + COLUMNS.map(() => '---:').join('|') + '|---:|');
  for (const r of rows) {
    const foreign = r.foreign == null ? '—' : `${Math.round(r.foreign * 100)}%`;
    md.push(`| ${r.run} | ${r.name} | ${r.failed ? '**FAILED**' : 'ok'} | ` + COLUMNS.map(([k]) => r.cells[k] ?? '—').join(' | ') + ` | ${foreign} |`);
  }
  const peers = rows.filter((r) => r.vsPeer);
  if (peers.length) {
    md.push('', 'egresskit against its peer in the same run (throughput: higher is better; CPU and memory: lower is better):', '');
    md.push('| run | proxy | peer | new tunnels | keep-alive | CPU/tunnel | CPU/ka req | KiB/idle tunnel |');
    md.push('|---|---|---|---:|---:|---:|---:|---:|');
    const x = (v) => (v == null ? '—' : `${v.toFixed(2)}×`);
    for (const r of peers) {
      const v = r.vsPeer;
      md.push(`| ${r.run} | ${r.name} | ${v.peer} | ${x(v.tunnels)} | ${x(v.keepalive)} | ${x(v.cpu_tunnel)} | ${x(v.cpu_ka)} | ${x(v.kib)} |`);
    }
  }
  const versions = [...new Set(rows.filter((r) => r.version && r.version !== '-').map((r) => r.version))];
  if (versions.length) md.push('', 'Versions: ' + versions.join('; ') + '.');
  md.push('', '"foreign CPU (max)": the largest share of the machine that processes outside the bench used during one of that proxy\'s tests; figures measured under such load are depressed by an amount the run cannot tell.');
  md.push('', failures.length ? `FAILED (${failures.length}):` : `No proxy failed (${runs.length} run${runs.length === 1 ? '' : 's'}).`);
  for (const f of failures) md.push(`- ${f}`);
  return md.join('\n') + '\n';
}

// ---- CLI
function main(argv) {
  let out = null, expect = null;
  const runs = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') out = argv[++i];
    else if (a === '--expect') expect = argv[++i].split(/[\s,]+/).filter(Boolean);
    else {
      const eq = a.indexOf('=');
      if (eq < 1) throw new Error(`expected LABEL=RESULT.json, got ${a}`);
      const label = a.slice(0, eq), file = a.slice(eq + 1);
      let result = null, error;
      try { result = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { error = `cannot read ${file}: ${e.message}`; }
      runs.push({ label, result, error, expect: expect ?? undefined });
    }
  }
  const s = buildSummary(runs);
  if (out) writeFileSync(out, s.markdown);
  process.stdout.write(s.markdown);
  return s.failures.length ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main(process.argv.slice(2)));
