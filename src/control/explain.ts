import type { Config } from '../config/schema.js';
import type { RequestFacts } from '../model/decision.js';
import { parseAbsoluteUri, parseAuthority, type Destination } from '../model/destination.js';
import { ProxyError } from '../model/errors.js';
import { ANONYMOUS, type ClientIdentity } from '../model/identity.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import type { SelfAddresses } from '../policy/decide.js';
import { explainDecision, type Explanation } from '../policy/explain.js';
import { selfAddresses } from '../policy/self-addresses.js';
import { bypassesProxy, parseNoProxy, type NoProxyEntry } from '../upstream/no-proxy.js';
import { resolveDestination } from '../upstream/resolve.js';

/** What explaining needs from a proxy's configuration: the same inputs the pipeline's context has. */
export interface ExplainSetup {
  policy: CompiledPolicy;
  self: SelfAddresses | undefined;
  hasParent: boolean;
  noProxy: NoProxyEntry[];
  dnsTimeoutMs: number;
}

export interface ExplainRequest {
  targets: string[];
  /** A client-certificate principal (SPIFFE ID, DNS SAN or CN), as mtls identifies clients. */
  identity?: string | undefined;
  /** A Basic-auth user name. */
  user?: string | undefined;
  /** Resolve names now and decide each address, as the proxy would. */
  resolve?: boolean | undefined;
}

/** A name that could not be resolved: the proxy would answer 502/504 with this code. */
export interface ExplainFailure {
  code: string;
  message: string;
}

export type ExplainResult = Explanation & { error?: ExplainFailure };

export interface ExplainReport {
  /** True when every target would go through: none refused (a report-mode denial is not a refusal) and none failed to resolve. */
  allowed: boolean;
  results: ExplainResult[];
}

/** A bad target or identity: the CLI exits 2, the admin port answers 400. */
export class ExplainInputError extends Error {
  override readonly name = 'ExplainInputError';
}

/**
 * `ports` are the proxy's own ports (listener, admin, UI) for the self-loop guard: the bound
 * ones for a running proxy, the configured ones for the CLI.
 */
export function explainSetup(config: Config, ports: () => number[]): ExplainSetup {
  return {
    policy: compilePolicy(config.policy),
    self: selfAddresses(ports),
    hasParent: config.upstreamProxy !== undefined,
    noProxy: parseNoProxy(config.upstreamProxy?.noProxy ?? []),
    dnsTimeoutMs: config.timeouts.connect,
  };
}

/** HOST[:PORT] (port 443 when left out), [IPv6]:PORT, or an http(s):// URL. */
export function parseExplainTarget(text: string): Destination {
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return parseAbsoluteUri(text).dest;
    return parseAuthority(text, 443);
  } catch (err) {
    if (err instanceof ProxyError) throw new ExplainInputError(`bad target ${JSON.stringify(text)}: ${err.message}; expected HOST[:PORT], [IPv6]:PORT or an https:// URL`);
    throw err;
  }
}

export function identityOf(req: Pick<ExplainRequest, 'identity' | 'user'>): ClientIdentity {
  if (req.identity !== undefined && req.user !== undefined) {
    throw new ExplainInputError('give --identity (a client-certificate identity) or --user (a Basic-auth user), not both');
  }
  if (req.identity === '' || req.user === '') throw new ExplainInputError('the identity or user name is empty');
  if (req.identity !== undefined) return { kind: 'certificate', principal: req.identity, attributes: {} };
  if (req.user !== undefined) return { kind: 'user', principal: req.user, attributes: {} };
  return ANONYMOUS;
}

/** Every target is parsed before any is resolved, so a typo fails fast without DNS traffic. */
export async function explainTargets(setup: ExplainSetup, req: ExplainRequest): Promise<ExplainReport> {
  if (req.targets.length === 0) throw new ExplainInputError('name at least one target, e.g. api.example.com:443');
  const identity = identityOf(req);
  const dests = req.targets.map(parseExplainTarget);
  const results = await Promise.all(dests.map((dest) => explainOne(setup, { dest, identity, method: 'CONNECT' }, req.resolve === true)));
  return { allowed: results.every((r) => !r.refused && !r.error), results };
}

async function explainOne(setup: ExplainSetup, facts: RequestFacts, resolve: boolean): Promise<ExplainResult> {
  const viaParent = setup.hasParent && !bypassesProxy(setup.noProxy, facts.dest);
  const input = { viaParent, self: setup.self };
  const first = explainDecision(setup.policy, facts, input);
  if (!resolve || first.decidedAt !== 'unresolved') return first;
  try {
    const resolved = await resolveDestination(facts.dest, setup.dnsTimeoutMs);
    return explainDecision(setup.policy, facts, { ...input, resolved });
  } catch (err) {
    if (!(err instanceof ProxyError)) throw err;
    // Policy did not refuse it, but the proxy would fail the request (502/504): not allowed either.
    return { ...first, error: { code: err.code, message: err.message } };
  }
}
