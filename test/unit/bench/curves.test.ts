import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// bench/lib/curves.mjs is a plain ES module beside bench/scale.sh, loaded from the repository root.
const modulePath = fileURLToPath(new URL('../../../../bench/lib/curves.mjs', import.meta.url));

interface Step { n: number; failed: boolean; why: string[]; KiB_per_tunnel?: number; active: { rate?: number; failed?: string } }
interface Curves { proxies: { name: string; failed: boolean; steps: Step[] }[]; failures: string[]; markdown: string }
interface CurvesModule {
  buildCurves(data: unknown): Curves;
  curvesSvg(c: Curves): string;
}
const load = async (): Promise<CurvesModule> => (await import(modulePath)) as CurvesModule;

const snap = (rssKb: number, cpuS: number, t = 0) => ({
  proxy: { rss_kb: rssKb, cpu_s: cpuS }, mine_cpu_s: t, sys: { total_s: 10 + t, proc_s: 2 + t, busy_s: 2 + t, irq_s: 0, steal_s: 0 },
});
const load_ = (ok: number, rate: number, rc = 0) => ({
  result: { ok, errors: 0, rate_per_s: rate, latency_ms: { p50: 1, p99: 5 } }, before: snap(0, 1), after: snap(0, 1 + ok * 20e-6, 1), rc,
});
function step(n: number, over: Record<string, unknown> = {}) {
  return { n, error: null, idle: snap(50_000, 1), during: snap(50_000 + n * 20, 1), ready: { open: n, errors: 0 },
    ka_hold: load_(1000, 500), ka_active: load_(2000, 1000), ...over };
}
const data = (...proxies: unknown[]) => ({ meta: { stamp: 's', steps: [10, 100] }, proxies, port443: null });
const proxyOk = (name: string) => ({ name, status: 'ok', kind: 'forward', steps: [step(10), step(100)], startup: { ms_median: 120, ok: 3, failed: 0, reps_asked: 3 } });

describe('bench scale curves: figures per step, and FAILED where a step measured nothing', () => {
  it('KiB per idle tunnel is the RSS growth over the tunnels actually open; nothing failed', async () => {
    const { buildCurves, curvesSvg } = await load();
    const c = buildCurves(data(proxyOk('egresskit-forward'), proxyOk('squid')));
    assert.deepEqual(c.failures, []);
    const s = c.proxies[0]?.steps[1];
    assert.equal(s?.KiB_per_tunnel, 20);
    assert.equal(s?.active.rate, 1000);
    assert.match(c.markdown, /\| egresskit-forward \| 100 \| ok \| 20\.0 \|/);
    assert.match(curvesSvg(c), /^<svg[^>]*>.*<polyline/s);
  });

  it('failed requests beside successful ones are listed with their kinds (not hidden, not FAILED)', async () => {
    const { buildCurves } = await load();
    const p = proxyOk('egresskit-forward');
    const active = load_(2000, 1000);
    Object.assign(active.result, { errors: 50, error_samples: { 'CONNECT: read tcp 127.0.0.1:1->127.0.0.1:2: reset': 1, 'CONNECT: read tcp 127.0.0.1:3->127.0.0.1:2: reset': 1 } });
    p.steps[1] = step(100, { ka_active: active });
    const c = buildCurves(data(p));
    assert.deepEqual(c.failures, []);
    assert.match(c.markdown, /egresskit-forward, N=100, N active: 50 errors beside 2000 requests \(2\.4%\); samples: 2× CONNECT: read tcp ADDR->ADDR: reset/);
  });

  it('a step where no request succeeded is FAILED, and so is its proxy', async () => {
    const { buildCurves } = await load();
    const p = proxyOk('egresskit-forward');
    p.steps[1] = step(100, { ka_active: load_(0, 0) });
    const c = buildCurves(data(p));
    assert.equal(c.proxies[0]?.failed, true);
    assert.match(c.failures.join('\n'), /egresskit-forward: n=100: keep-alive over 100 active tunnels: no request succeeded/);
    assert.match(c.markdown, /\| egresskit-forward \| 100 \| \*\*FAILED\*\* \|/);
  });

  it('no tunnel held, fewer tunnels than asked, a load generator exiting non-zero: FAILED', async () => {
    const { buildCurves } = await load();
    const p = proxyOk('squid');
    p.steps[0] = step(10, { ready: { open: 0, errors: 10 } });
    p.steps[1] = step(100, { ready: { open: 60, errors: 40 }, ka_hold: load_(1000, 500, 1) });
    const f = buildCurves(data(p)).failures.join('\n');
    assert.match(f, /n=10: no tunnel held \(0 of 10 open\)/);
    assert.match(f, /n=100: only 60 of 100 tunnels opened/);
    assert.match(f, /n=100: .*load generator exited 1/);
  });

  it('a proxy that did not start, a missing start-up figure and a failed port-443 variant are FAILED', async () => {
    const { buildCurves } = await load();
    const dead = { name: 'tinyproxy', status: 'port 13128 busy', steps: [], startup: null };
    const noStart = { ...proxyOk('egresskit-forward'), startup: { error: 'every rep failed', reps_asked: 3 } };
    const c = buildCurves({ ...data(dead, noStart), port443: { error: null, variants: [
      { name: 'sni-check off, port 443', reps: [{ error: null, tunnels: load_(100, 50), keepalive: load_(0, 0) }] },
      { name: 'never ran', reps: [] }] } });
    const f = c.failures.join('\n');
    assert.match(f, /tinyproxy: status "port 13128 busy"/);
    assert.match(f, /egresskit-forward: start-up: every rep failed/);
    assert.match(f, /port 443 \/ sni-check off, port 443: no request succeeded/);
    assert.match(f, /port 443 \/ never ran: not measured/);
  });
});

describe('bench scale curves CLI: reads the raw directory, exits 1 when a step failed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egk-bench-curves-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (f: string, v: unknown) => { mkdirSync(join(f, '..'), { recursive: true }); writeFileSync(f, typeof v === 'string' ? v : JSON.stringify(v)); };
  function rawDir(name: string, activeOk: number): string {
    const raw = join(dir, name);
    write(join(raw, 'meta.json'), { stamp: name, steps: [10] });
    write(join(raw, 'order.txt'), 'egresskit-forward\n');
    const p = join(raw, 'egresskit-forward');
    write(join(p, 'status.json'), { status: 'ok', kind: 'forward' });
    write(join(p, 'n10', 'idle.json'), snap(50_000, 1));
    write(join(p, 'n10', 'hold_during.json'), snap(50_200, 1));
    write(join(p, 'n10', 'hold.ready.json'), { open: 10, errors: 0 });
    for (const [t, ok] of [['ka_hold', 100], ['ka_active', activeOk]] as const) {
      const l = load_(ok, ok / 2);
      write(join(p, 'n10', `${t}.json`), l.result);
      write(join(p, 'n10', `${t}.before.json`), l.before);
      write(join(p, 'n10', `${t}.after.json`), l.after);
      write(join(p, 'n10', `${t}.rc`), '0\n');
    }
    return raw;
  }
  const run = (raw: string) => spawnSync(process.execPath, [modulePath, raw, raw + '.json', raw + '.md', raw + '.svg'], { encoding: 'utf8' });

  it('exit 0 and the three files when every step measured something', () => {
    const raw = rawDir('good', 100);
    const r = run(raw);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(JSON.parse(readFileSync(raw + '.json', 'utf8')).proxies[0].steps[0].KiB_per_tunnel, 20);
    assert.match(readFileSync(raw + '.svg', 'utf8'), /^<svg/);
  });

  it('exit 1 when a step served no request, with the table written all the same', () => {
    const raw = rawDir('bad', 0);
    const r = run(raw);
    assert.equal(r.status, 1);
    assert.match(readFileSync(raw + '.md', 'utf8'), /\*\*FAILED\*\*/);
  });
});
