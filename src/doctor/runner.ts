import { performance } from 'node:perf_hooks';
import { resolveCheck, tcpCheck } from './checks/connect-hops.js';
import { proxyAuthCheck, proxyRequestCheck } from './checks/proxy-request.js';
import { proxyTlsCheck } from './checks/proxy-tls.js';
import { httpCheck, targetTlsCheck } from './checks/target.js';
import type { Check, CheckResult, DoctorContext, DoctorOptions } from './context.js';

/** The hops in the order a client meets them. */
export const HOPS: readonly Check[] = [resolveCheck, tcpCheck, proxyTlsCheck, proxyAuthCheck, proxyRequestCheck, targetTlsCheck, httpCheck];

export function newContext(opts: DoctorOptions): DoctorContext {
  const via = opts.proxy ?? opts.url;
  // A proxy URL without a port means 1080 to curl, Go and Python alike.
  const defaultPort = via.protocol === 'https:' ? 443 : via === opts.proxy ? 1080 : 80;
  return { opts, hop: { host: via.hostname.replace(/^\[|\]$/g, ''), port: Number(via.port || defaultPort) }, addresses: [], egresskit: {} };
}

/** Runs the hops in order; after the first failure the rest are reported as not reached. */
export async function runHops(ctx: DoctorContext, checks: readonly Check[] = HOPS): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let failed = false;
  try {
    for (const check of checks) {
      const title = check.title(ctx);
      if (failed) {
        results.push({ id: check.id, title, status: 'skip', detail: 'not reached', ms: 0 });
        continue;
      }
      const start = performance.now();
      let outcome;
      try {
        outcome = await check.run(ctx);
      } catch (err) {
        // A check that throws is a doctor bug; it still ends the run with what it knows.
        outcome = { status: 'fail' as const, failure: 'target' as const, detail: `doctor error: ${(err as Error).message}` };
      }
      results.push({ id: check.id, title, ...outcome, ms: Math.round((performance.now() - start) * 10) / 10 });
      if (outcome.status === 'fail') failed = true;
    }
  } finally {
    for (const s of [ctx.targetTls, ctx.proxyStream, ctx.tcp]) s?.destroy();
  }
  return results;
}
