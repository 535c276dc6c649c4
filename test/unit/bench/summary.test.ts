import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// bench/lib/summary.mjs is a plain ES module beside the bench scripts (no build step): loaded
// at run time from the repository root, three folders above dist/test/unit/bench.
const modulePath = fileURLToPath(new URL('../../../../bench/lib/summary.mjs', import.meta.url));

interface Row { run: string; name: string; failed: boolean; why: string[]; cells: Record<string, string>; vsPeer: { peer: string; tunnels: number | null } | null }
interface Summary { rows: Row[]; failures: string[]; markdown: string }
interface SummaryModule {
  buildSummary(runs: { label: string; result: unknown; error?: string; expect?: string[] }[]): Summary;
}
const load = async (): Promise<SummaryModule> => (await import(modulePath)) as SummaryModule;

const METRICS = {
  bulk_http_MBps: 900, bulk_https_MBps: 700, tunnels_per_s: 1200, keepalive_rps: 15000, fwd_lg_rps: 9000, fwd_wrk_rps: 11000,
  hold_open: 200, hold_KiB_per_tunnel: 20, startup_ms: 150, cpu_ms_per_tunnel: 0.5,
};
const sanity = (kind: string) => ({
  https_via_tunnel: true, http_absolute_uri: true, http_via_tunnel: true, tls_intercepted: kind === 'inspect',
  rejects_no_client_cert: null, rejects_untrusted_client_cert: null,
});
function proxy(name: string, metrics: Record<string, number | null> = {}, extra: Record<string, unknown> = {}) {
  const kind = name.includes('inspect') ? 'inspect' : name === 'direct' ? 'direct' : 'forward';
  return { name, status: 'ok', kind, url: name === 'direct' ? '' : 'http://127.0.0.1:1', sanity: sanity(kind), metrics: { ...METRICS, ...metrics }, ...extra };
}
const result = (...proxies: unknown[]) => ({ meta: { config: { hold_tunnels: 200, startup_reps: 2 } }, proxies });

describe('bench summary: a proxy that did not do the job is FAILED, never n/a', () => {
  it('every proxy ok: no failure, egresskit beside its peer with ratios to direct and to the peer', async () => {
    const { buildSummary } = await load();
    const noisy = proxy('egresskit-forward', { tunnels_per_s: 800 }, { noise: { bulk: { foreign_share: 0.1 }, tunnels: { foreign_share: 0.42 }, keepalive: null } });
    const s = buildSummary([{ label: 'node24 w1', result: result(proxy('direct'), proxy('squid', { tunnels_per_s: 1000 }), noisy) }]);
    assert.deepEqual(s.failures, []);
    const egk = s.rows.find((r) => r.name === 'egresskit-forward');
    assert.equal(egk?.failed, false);
    assert.equal(egk?.cells.tunnels_per_s, '800 (0.67×)');   // 800 / direct's 1200
    assert.equal(egk?.vsPeer?.peer, 'squid');
    assert.equal(egk?.vsPeer?.tunnels, 0.8);
    assert.match(s.markdown, /\| node24 w1 \| egresskit-forward \| ok \|.*\| 42% \|$/m);   // the noisiest test's foreign CPU
    assert.match(s.markdown, /No proxy failed/);
  });

  it('a figure of zero on a test that applies is FAILED', async () => {
    const { buildSummary } = await load();
    const s = buildSummary([{ label: 'r', result: result(proxy('direct'), proxy('egresskit-forward', { keepalive_rps: 0 })) }]);
    assert.equal(s.rows.find((r) => r.name === 'egresskit-forward')?.failed, true);
    assert.match(s.failures.join('\n'), /egresskit-forward: measured zero or nothing: keepalive_rps/);
    assert.match(s.markdown, /\| r \| egresskit-forward \| \*\*FAILED\*\* \|/);
  });

  it('a missing figure (the test produced nothing) is FAILED; wrk does not apply to an https proxy', async () => {
    const { buildSummary } = await load();
    const s = buildSummary([{ label: 'r', result: result(proxy('direct'),
      proxy('egresskit-mtls', { fwd_wrk_rps: null }, { url: 'https://127.0.0.1:2', kind: 'mtls' }),
      proxy('egresskit-inspect', { hold_open: null })) }]);
    assert.equal(s.rows.find((r) => r.name === 'egresskit-mtls')?.failed, false);
    assert.match(s.failures.join('\n'), /egresskit-inspect: measured zero or nothing: hold_open/);
  });

  it('a proxy the run was asked for but that is absent from its result is FAILED', async () => {
    const { buildSummary } = await load();
    const s = buildSummary([{ label: 'r', expect: ['direct', 'squid', 'egresskit-forward'], result: result(proxy('direct'), proxy('egresskit-forward')) }]);
    assert.equal(s.rows.find((r) => r.name === 'squid')?.failed, true);
    assert.match(s.failures.join('\n'), /squid: not in the run/);
  });

  it('a failed sanity check, a start failure, a failed start-up rep and a run without a result are FAILED', async () => {
    const { buildSummary } = await load();
    const bad = proxy('egresskit-forward');
    bad.sanity = { ...bad.sanity, http_via_tunnel: false };
    const s = buildSummary([
      { label: 'a', result: result(proxy('direct'), bad, proxy('squid', {}, { status: 'start failed' }),
        proxy('tinyproxy', {}, { startup: { failed: 1, reps_asked: 2 } }), proxy('mitmproxy', {}, { sanity: { ...sanity('inspect'), tls_intercepted: false }, kind: 'inspect' })) },
      { label: 'b', result: null, error: 'cannot read b.json' },
    ]);
    const f = s.failures.join('\n');
    assert.match(f, /a \/ egresskit-forward: sanity checks failed: http_via_tunnel=false/);
    assert.match(f, /a \/ squid: status "start failed"/);
    assert.match(f, /a \/ tinyproxy: start-up failed in 1 of 2 reps/);
    assert.match(f, /a \/ mitmproxy: sanity checks failed: tls_intercepted=false/);
    assert.match(f, /b: cannot read b.json/);
    assert.equal(s.rows.find((r) => r.name === 'direct')?.failed, false);
  });
});

describe('bench summary CLI: its exit status says whether a run failed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egk-bench-summary-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) => spawnSync(process.execPath, [modulePath, ...args], { encoding: 'utf8' });

  it('exits 0 when every proxy is ok, 1 when one measured zero, and writes the table either way', () => {
    const good = join(dir, 'good.json'), bad = join(dir, 'bad.json'), out = join(dir, 'out.md');
    writeFileSync(good, JSON.stringify(result(proxy('direct'), proxy('egresskit-forward'))));
    writeFileSync(bad, JSON.stringify(result(proxy('direct'), proxy('egresskit-forward', { tunnels_per_s: 0 }))));
    const ok = run('--out', out, 'one=' + good);
    assert.equal(ok.status, 0, ok.stderr);
    const failed = run('--out', out, 'one=' + good, 'two=' + bad);
    assert.equal(failed.status, 1);
    assert.match(failed.stdout, /\| two \| egresskit-forward \| \*\*FAILED\*\* \|/);
  });

  it('a result file that does not exist is a failure, not an empty table', () => {
    const r = run('--expect', 'direct egresskit-forward', 'x=' + join(dir, 'missing.json'));
    assert.equal(r.status, 1);
    assert.match(r.stdout, /x: cannot read/);
  });
});
