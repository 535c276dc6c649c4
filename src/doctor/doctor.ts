import { EXIT_CODES, type CheckResult, type DoctorOptions, type EgresskitFacts, type FailureKind } from './context.js';
import { runtimeChoice, type Env, type RuntimeChoice } from './env-proxy.js';
import { envWarnings, type EnvWarning } from './env-warnings.js';
import { redact } from './redact.js';
import { newContext, runHops } from './runner.js';
import { RUNTIMES, type RuntimeFamily, type RuntimeId } from './runtime-rules.js';

export interface DoctorReport {
  url: string;
  proxy: string | null;
  /** Where the proxy came from: --proxy, or the runtime whose choice was followed. */
  proxySource: string;
  runtimes: RuntimeChoice[];
  warnings: EnvWarning[];
  hops: CheckResult[];
  egresskit: EgresskitFacts | null;
  result: { ok: boolean; failure: FailureKind | null; hop: string | null; exitCode: number };
}

export interface DoctorInput extends Omit<DoctorOptions, 'proxy'> {
  proxy?: URL;
  env: Env;
  runtime: RuntimeFamily | 'all';
}

/** The environment as each runtime reads it, then the hops to the target, into one report. */
export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const ids = (Object.keys(RUNTIMES) as RuntimeId[]).filter((id) => input.runtime === 'all' || RUNTIMES[id].family === input.runtime);
  const runtimes = ids.map((id) => runtimeChoice(id, input.env, input.url));
  // Without --proxy, follow the first runtime asked about (curl for "all"): doctor then checks what that client would do.
  let proxy = input.proxy;
  let proxySource = '--proxy';
  if (!proxy) {
    const lead = runtimes[0]!;
    proxySource = `${lead.label}: ${lead.why}`;
    if (lead.proxy) proxy = new URL(lead.proxy);
  }
  let proxyUser = input.proxyUser;
  if (!proxyUser && proxy?.username) proxyUser = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  const ctx = newContext({ ...input, proxy, proxyUser });
  const hops = await runHops(ctx);
  const warnings = envWarnings(input.env, runtimes, { interception: ctx.interception !== undefined });
  if (proxyUser && runtimes.some((r) => r.runtime === 'java' && r.proxy) && !/jdk\.http\.auth\.tunneling\.disabledSchemes=/.test(`${input.env.JAVA_TOOL_OPTIONS ?? ''} ${input.env.JDK_JAVA_OPTIONS ?? ''}`)) {
    warnings.push({ warning: 'Java disables Basic authentication for CONNECT by default (jdk.http.auth.tunneling.disabledSchemes=Basic): its https requests will get 407', fix: 'JAVA_TOOL_OPTIONS="$JAVA_TOOL_OPTIONS -Djdk.http.auth.tunneling.disabledSchemes="' });
  }
  const failed = hops.find((h) => h.status === 'fail');
  const failure = failed ? (failed.failure ?? 'target') : null;
  return {
    url: redact(input.url),
    proxy: proxy ? redact(proxy) : null,
    proxySource,
    runtimes: runtimes.map((r) => ({ ...r, proxy: r.proxy && redact(new URL(r.proxy)) })),
    warnings,
    hops,
    egresskit: ctx.egresskit.seenBy ? ctx.egresskit : null,
    result: { ok: !failed, failure, hop: failed?.id ?? null, exitCode: EXIT_CODES[failure ?? 'ok'] },
  };
}
