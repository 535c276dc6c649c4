import { notePhase } from '../model/channels.js';
import type { Decision, RequestFacts } from '../model/decision.js';
import { ProxyError } from '../model/errors.js';
import type { ProxyRecord } from '../model/record.js';
import { decideAddress, decideHost, decideWithoutAddress, isRefusal } from '../policy/decide.js';
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
 * leaves the deciding Decision on the record either way.
 */
export async function decideRoute(facts: RequestFacts, ctx: ProxyContext, record: ProxyRecord): Promise<Route> {
  const { policy } = ctx;
  const { dest } = facts;
  const hostDecision = decideHost(policy, facts);
  if (hostDecision && isRefusal(hostDecision)) {
    record.decision = hostDecision;
    throw refusal(hostDecision);
  }
  if (ctx.parent && !bypassesProxy(ctx.noProxy, dest)) {
    // The parent resolves names; only an IP literal can be checked here.
    const decision =
      dest.hostKind === 'name' ? decideWithoutAddress(policy, facts, hostDecision) : decideAddress(policy, facts, dest.host, hostDecision, ctx.self);
    record.decision = decision;
    if (isRefusal(decision)) throw refusal(decision);
    return { dest, hops: [{ via: 'parent', parent: ctx.parent, decision }] };
  }
  const started = performance.now();
  const addresses = await resolveDestination(dest, ctx.config.timeouts.connect);
  if (dest.hostKind === 'name') notePhase(record, 'dns', started);
  const hops: Hop[] = [];
  let firstRefusal: Decision | undefined;
  for (const ip of addresses) {
    const decision = decideAddress(policy, facts, ip, hostDecision, ctx.self);
    if (isRefusal(decision)) firstRefusal ??= decision;
    else hops.push({ via: 'direct', ip, port: dest.port, decision });
  }
  // A name with one private and one public address is refused outright: dialing the public one
  // would make the outcome depend on resolver order, which an attacker may control.
  if (firstRefusal) {
    record.decision = firstRefusal;
    throw refusal(firstRefusal);
  }
  record.decision = hops[0]!.decision;
  return { dest, hops };
}
