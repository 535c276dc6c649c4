import type { DoctorReport } from './doctor.js';

const MARK = { ok: 'ok  ', warn: 'warn', fail: 'FAIL', skip: '-   ' } as const;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

export function renderText(r: DoctorReport): string {
  const out: string[] = [`egresskit doctor ${r.url}`, '', 'Environment: which proxy each runtime would use'];
  out.push(...table([['runtime', 'proxy', 'why'], ...r.runtimes.map((c) => [c.label, c.proxy ?? 'direct', c.why])]).map((l) => `  ${l}`));
  for (const w of r.warnings) out.push(`  warn: ${w.warning}`, `        fix: ${w.fix}`);
  out.push('', `Hops ${r.proxy ? `via ${r.proxy}` : 'direct (no proxy)'} (${r.proxySource})`);
  out.push(...table(r.hops.map((h) => [MARK[h.status], h.title, h.status === 'skip' ? '' : `${h.ms} ms`, h.detail])).map((l) => `  ${l}`));
  if (r.egresskit) {
    out.push('', `The proxy is egresskit (${r.egresskit.seenBy})`);
    if (r.egresskit.rule) out.push(`  rule:   ${r.egresskit.rule}`);
    if (r.egresskit.reason) out.push(`  reason: ${r.egresskit.reason}`);
  }
  out.push('');
  const failed = r.hops.find((h) => h.status === 'fail');
  if (failed) {
    out.push(`FAILED at ${failed.id} (${r.result.failure}, exit ${r.result.exitCode}): ${failed.detail}`);
    if (failed.fix) out.push(`fix: ${failed.fix}`);
  } else {
    out.push(`OK: the request works end to end${r.warnings.length ? ` (${r.warnings.length} warning(s) above)` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

export function renderJson(r: DoctorReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
