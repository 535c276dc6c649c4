import { decideAddress, decideHost, decideWithoutAddress, isRefusal } from '../policy/decide.js';
import type { Decision, RequestFacts } from '../model/decision.js';
import { bypassesProxy } from '../upstream/no-proxy.js';
import type { ParentProxy } from '../upstream/parent-proxy.js';
import { resolveDestination } from '../upstream/resolve.js';
import type { ProxyContext } from './context.js';
import { ProxyError, type ErrorCode } from '../model/errors.js';
import type { ProxyRecord } from '../model/record.js';

export type Route =
  | { via: 'direct'; candidates: Array<{ ip: string; decision: Decision }> }
  | { via: 'parent'; parent: ParentProxy; decision: Decision };

const DENIAL_CODES: Record<string, ErrorCode> = {
  'private-address': 'address_denied',
  'connect-ports': 'port_denied',
  self: 'loop_denied',
};

export function refusal(decision: Decision): ProxyError {
  return new ProxyError(DENIAL_CODES[decision.ruleId] ?? 'policy_denied', decision.reason, { hint: decision.hint });
}

/**
 * decide(host) -> resolve -> decide(ip): the part of the pipeline every mode and every kind of
 * request (CONNECT, absolute-URI, Upgrade) shares. Throws the refusal as a ProxyError and
 * leaves the deciding Decision on the record either way.
 */
export async function route(facts: RequestFacts, ctx: ProxyContext, record: ProxyRecord): Promise<Route> {
  const { policy } = ctx;
  const hostDecision = decideHost(policy, facts);
  if (hostDecision && isRefusal(hostDecision)) {
    record.decision = hostDecision;
    throw refusal(hostDecision);
  }
  if (ctx.parent && !bypassesProxy(ctx.noProxy, facts.dest)) {
    // The parent resolves names; only an IP literal can be checked here.
    const decision =
      facts.dest.hostKind === 'name'
        ? decideWithoutAddress(policy, facts, hostDecision)
        : decideAddress(policy, facts, facts.dest.host, hostDecision, ctx.self);
    record.decision = decision;
    if (isRefusal(decision)) throw refusal(decision);
    return { via: 'parent', parent: ctx.parent, decision };
  }
  const addresses = await resolveDestination(facts.dest, ctx.config.timeouts.connect);
  const candidates: Array<{ ip: string; decision: Decision }> = [];
  let firstRefusal: Decision | undefined;
  for (const ip of addresses) {
    const decision = decideAddress(policy, facts, ip, hostDecision, ctx.self);
    if (isRefusal(decision)) firstRefusal ??= decision;
    else candidates.push({ ip, decision });
  }
  // A name with one private and one public address is refused outright: dialing the public one
  // would make the outcome depend on resolver order, which an attacker may control.
  if (firstRefusal) {
    record.decision = firstRefusal;
    throw refusal(firstRefusal);
  }
  record.decision = candidates[0]!.decision;
  return { via: 'direct', candidates };
}
