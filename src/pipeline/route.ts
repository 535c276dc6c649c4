import { notePhase } from '../model/channels.js';
import type { Decision, RequestFacts } from '../model/decision.js';
import { ProxyError } from '../model/errors.js';
import type { ProxyRecord } from '../model/record.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { isRefusal } from '../policy/decide.js';
import { decideAddresses, decideBeforeLookup } from '../policy/route-decision.js';
import { bypassesProxy } from '../upstream/no-proxy.js';
import { resolveDestination } from '../upstream/resolve.js';
import type { ProxyContext } from './context.js';
import type { Hop, Route } from './entry.js';

/** A denial as the client sees it: a guard's own code, or policy_denied for any rule (whatever its id). */
export function refusal(decision: Decision): ProxyError {
  return new ProxyError(decision.code ?? 'policy_denied', decision.reason, { hint: decision.hint });
}

/**
 * decide(host) -> resolve -> decide(each address). Throws the refusal as a ProxyError and
 * leaves the deciding Decision on the record either way. The deciding is the pure
 * policy/route-decision.ts (which `egresskit explain` runs too); this adds DNS and the record.
 * `policy` is the version the pipeline read for this decision, never ctx's latest.
 */
export async function decideRoute(facts: RequestFacts, ctx: ProxyContext, policy: CompiledPolicy, record: ProxyRecord): Promise<Route> {
  const { dest } = facts;
  const viaParent = ctx.parent !== undefined && !bypassesProxy(ctx.noProxy, dest);
  const before = decideBeforeLookup(policy, facts, viaParent, ctx.self);
  if (before.final) {
    record.decision = before.decision;
    if (isRefusal(before.decision)) throw refusal(before.decision);
    return { dest, hops: [{ via: 'parent', parent: ctx.parent!, decision: before.decision }] };
  }
  const started = performance.now();
  const addresses = await resolveDestination(dest, ctx.config.timeouts.connect);
  if (dest.hostKind === 'name') notePhase(record, 'dns', started);
  const { refusal: refused, allowed } = decideAddresses(policy, facts, addresses, before.hostDecision, ctx.self);
  if (refused) {
    record.decision = refused;
    throw refusal(refused);
  }
  const hops: Hop[] = allowed.map(({ ip, decision }) => ({ via: 'direct', ip, port: dest.port, decision }));
  record.decision = hops[0]!.decision;
  return { dest, hops };
}
