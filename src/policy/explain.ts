import { isIP } from 'node:net';
import type { Decision, RequestFacts } from '../model/decision.js';
import { formatHostPort } from '../model/destination.js';
import type { CompiledPolicy } from './compile.js';
import { decideAddress, decideWithoutAddress, isRefusal, ruleApplies, type SelfAddresses } from './decide.js';
import { matchesAddress } from './patterns.js';
import { decideAddresses, decideBeforeLookup } from './route-decision.js';

/** One address and what phase two says about it: resolved for real, or a probe standing for a kind of address. */
export interface AddressOutcome {
  /** What this stands for: the address itself, or e.g. "a private address, e.g. 10.0.0.1". */
  when: string;
  /** The address decided (absent for "a public address", which is decided without one). */
  address?: string;
  decision: Decision;
  refused: boolean;
}

/**
 * Where the answer came from:
 * - host: refused on the name (or literal) before any DNS lookup;
 * - parent: sent through the parent proxy, which resolves names itself;
 * - addresses: every address was decided (an IP literal, or a name resolved with --resolve);
 * - unresolved: a name that passed phase one; `decision` is what a public address gets, and
 *   `ifResolved` what other kinds of address would get.
 */
export type DecidedAt = 'host' | 'parent' | 'addresses' | 'unresolved';

export interface Explanation {
  target: string;
  identity: { kind: RequestFacts['identity']['kind']; principal: string | null };
  decidedAt: DecidedAt;
  /** The decision the proxy would act on (log line, 403 body). */
  decision: Decision;
  /** Whether the proxy would stop the request (report-mode denials are not refused). */
  refused: boolean;
  /** Phase one on the name: undefined when no rule spoke and the default waits for the address. */
  hostDecision?: Decision;
  /** decidedAt addresses: each address, in the resolver's order. */
  addresses?: AddressOutcome[];
  /** decidedAt unresolved: what phase two would say for each kind of address the name may resolve to. */
  ifResolved?: AddressOutcome[];
}

export interface ExplainInput {
  viaParent: boolean;
  self: SelfAddresses | undefined;
  /** The name's addresses (resolved by the caller); IP literals are their own address. */
  resolved?: readonly string[];
}

/** Probes for "a private address": the first one that no address rule names stands for the guard. */
const PRIVATE_PROBES = ['10.0.0.1', '172.16.0.1', '192.168.0.1', '100.64.0.1', 'fd00::1'];

/**
 * The decision for one target, by the same pure steps the pipeline runs (route-decision.ts):
 * nothing here decides by itself, it only chooses which addresses to ask decideAddress about.
 */
export function explainDecision(policy: CompiledPolicy, facts: RequestFacts, input: ExplainInput): Explanation {
  const { dest, identity } = facts;
  const base = { target: formatHostPort(dest.host, dest.port), identity: { kind: identity.kind, principal: identity.principal } };
  const before = decideBeforeLookup(policy, facts, input.viaParent, input.self);
  if (before.final) {
    return { ...base, decidedAt: before.viaParent ? 'parent' : 'host', decision: before.decision, refused: isRefusal(before.decision) };
  }
  const { hostDecision } = before;
  const withHost = hostDecision ? { hostDecision } : {};
  const resolved = dest.hostKind === 'name' ? input.resolved : [dest.host];
  if (resolved && resolved.length > 0) {
    const { each, refusal } = decideAddresses(policy, facts, resolved, hostDecision, input.self);
    const decision = refusal ?? each[0]!.decision;
    const addresses = each.map(({ ip, decision: d }) => ({ when: ip, address: ip, decision: d, refused: isRefusal(d) }));
    return { ...base, ...withHost, decidedAt: 'addresses', decision, refused: isRefusal(decision), addresses };
  }
  const ifResolved = probeAddresses(policy, facts, hostDecision, input.self);
  const decision = ifResolved[0]!.decision;
  return { ...base, ...withHost, decidedAt: 'unresolved', decision, refused: isRefusal(decision), ifResolved };
}

function outcome(when: string, decision: Decision, address?: string): AddressOutcome {
  return { when, ...(address ? { address } : {}), decision, refused: isRefusal(decision) };
}

function probeAddresses(policy: CompiledPolicy, facts: RequestFacts, hostDecision: Decision | undefined, self: SelfAddresses | undefined): AddressOutcome[] {
  // A public address that no address rule names gets the host decision or the default, which
  // is exactly decideWithoutAddress: no address is invented for it.
  const out = [outcome('a public address that no address rule names', decideWithoutAddress(policy, facts, hostDecision))];
  const cidrs = policy.rules.filter((r) => ruleApplies(r, facts)).flatMap((r) => r.addresses.filter((p) => p.kind === 'cidr').map((p) => ({ rule: r.id, p })));
  const named = (ip: string) => cidrs.some(({ p }) => matchesAddress(p, ip));
  const privateProbe = PRIVATE_PROBES.find((ip) => !named(ip));
  if (privateProbe) {
    // Probes stand for kinds of address, not for this host's own: the self check has its own probe below.
    out.push(outcome(`a private address, e.g. ${privateProbe}`, decideAddress(policy, facts, privateProbe, hostDecision, undefined), privateProbe));
  }
  const seen = new Set<string>();
  for (const { rule, p } of cidrs) {
    if (seen.has(p.source)) continue;
    seen.add(p.source);
    const probe = networkAddress(p.source);
    if (probe) out.push(outcome(`an address in ${p.source} (rule ${rule})`, decideAddress(policy, facts, probe, hostDecision, undefined), probe));
  }
  if (self?.isSelf('127.0.0.1', facts.dest.port)) {
    out.push(outcome(`one of egresskit's own addresses (port ${facts.dest.port} is one of its listeners)`, decideAddress(policy, facts, '127.0.0.1', hostDecision, self), '127.0.0.1'));
  }
  return out;
}

/** The first address of a CIDR (or the address itself) as written in a rule. */
function networkAddress(source: string): string | undefined {
  const text = source.trim();
  const addr = text.split('/')[0]!.replace(/^\[(.*)\]$/, '$1');
  return isIP(addr) ? addr : undefined;
}
