import type { Decision, RequestFacts } from '../model/decision.js';
import type { CompiledPolicy } from './compile.js';
import { decideAddress, decideHost, decideWithoutAddress, isRefusal, type SelfAddresses } from './decide.js';

/**
 * What can be decided before any DNS lookup. `final` is the whole answer: a refusal on the
 * name, or a route through a parent proxy (which resolves names itself, so only an IP literal
 * can be checked here). Otherwise the name is to be resolved and each address decided with
 * `hostDecision` (undefined when no rule spoke on the name).
 *
 * Pure, so that the pipeline (pipeline/route.ts) and `egresskit explain` run the same steps.
 */
export type BeforeLookup =
  | { final: true; decision: Decision; viaParent: boolean }
  | { final: false; hostDecision: Decision | undefined };

export function decideBeforeLookup(
  policy: CompiledPolicy,
  facts: RequestFacts,
  viaParent: boolean,
  self: SelfAddresses | undefined,
): BeforeLookup {
  const { dest } = facts;
  const hostDecision = decideHost(policy, facts);
  if (hostDecision && isRefusal(hostDecision)) return { final: true, decision: hostDecision, viaParent: false };
  if (!viaParent) return { final: false, hostDecision };
  const decision =
    dest.hostKind === 'name' ? decideWithoutAddress(policy, facts, hostDecision) : decideAddress(policy, facts, dest.host, hostDecision, self);
  return { final: true, decision, viaParent: true };
}

export interface AddressesDecided {
  /** Every address with its decision, in the resolver's order. */
  each: Array<{ ip: string; decision: Decision }>;
  /** The first refused address, which refuses the name whatever the others say. */
  refusal: Decision | undefined;
  /** The addresses that may be dialled, in order (empty when refused). */
  allowed: Array<{ ip: string; decision: Decision }>;
}

/**
 * Phase two over every resolved address. A name with one private and one public address is
 * refused outright: dialling the public one would make the outcome depend on resolver order,
 * which an attacker may control.
 */
export function decideAddresses(
  policy: CompiledPolicy,
  facts: RequestFacts,
  addresses: readonly string[],
  hostDecision: Decision | undefined,
  self: SelfAddresses | undefined,
): AddressesDecided {
  const each = addresses.map((ip) => ({ ip, decision: decideAddress(policy, facts, ip, hostDecision, self) }));
  const refusal = each.find((e) => isRefusal(e.decision))?.decision;
  return { each, refusal, allowed: refusal ? [] : each };
}
