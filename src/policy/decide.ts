import { formatHostPort } from '../core/destination.js';
import { classifyAddress } from './ip-classes.js';
import { matchesAddress, matchesName } from './patterns.js';
import type { CompiledPolicy, CompiledRule } from './compile.js';
import type { Decision, RequestFacts } from './types.js';

/** Addresses and ports of egresskit's own listeners, which it must never proxy to. */
export interface SelfAddresses {
  isSelf(ip: string, port: number): boolean;
}

function applies(rule: CompiledRule, facts: RequestFacts): boolean {
  if (rule.ports && !rule.ports.has(facts.dest.port)) return false;
  if (rule.identity && !rule.identity(facts.identity.principal ?? '')) return false;
  return true;
}

function fromRule(rule: CompiledRule, facts: RequestFacts, phase: 'host' | 'ip', address?: string): Decision {
  const target = address ?? facts.dest.host;
  const d: Decision = {
    verdict: rule.action,
    ruleId: rule.id,
    phase,
    reason: `${rule.action === 'allow' ? 'allowed' : 'denied'} by rule ${rule.id} (${rule.describe}) for ${target}`,
    enforcement: rule.enforcement,
  };
  if (rule.action === 'deny') d.hint = `remove or narrow rule ${rule.id}, or add an allow rule before it`;
  if (rule.inspect) d.inspect = rule.inspect;
  if (address) d.address = address;
  return d;
}

/**
 * Phase one, on the requested name (or IP literal), before any DNS lookup: the port list and
 * the first rule whose patterns match. Undefined means "no rule spoke; decide after resolving".
 * An address rule (CIDR) never allows a name by itself: it decides IP literals, and lifts the
 * private-address guard for names that a name rule allowed.
 */
export function decideHost(policy: CompiledPolicy, facts: RequestFacts): Decision | undefined {
  const { dest } = facts;
  if (!policy.connectPorts.has(dest.port)) {
    return {
      verdict: 'deny',
      ruleId: 'connect-ports',
      phase: 'host',
      reason: `port ${dest.port} is not an allowed destination port (${[...policy.connectPorts].join(', ')})`,
      hint: `add ${dest.port} to --connect-ports (policy.connectPorts)`,
      enforcement: policy.enforcement,
    };
  }
  for (const rule of policy.rules) {
    if (!applies(rule, facts)) continue;
    const hit =
      dest.hostKind === 'name'
        ? rule.names.some((p) => matchesName(p, dest.host))
        : rule.addresses.some((p) => matchesAddress(p, dest.host));
    if (hit) return fromRule(rule, facts, 'host');
  }
  // In allow-list mode a name no rule names is refused here, without a DNS lookup that would
  // leak it; address rules still decide IP literals and what allowed names resolve to.
  if (dest.hostKind === 'name' && policy.defaultVerdict === 'deny') return defaultDecision(policy, facts);
  return undefined;
}

/**
 * Phase two, on the address that will actually be dialed: self-loop, address rules, then the
 * private-range guard, then the host decision or the default. The guard and the loop check are
 * always enforced: report mode is for rolling out rules, not for opening the cluster.
 */
export function decideAddress(
  policy: CompiledPolicy,
  facts: RequestFacts,
  ip: string,
  hostDecision: Decision | undefined,
  self: SelfAddresses | undefined,
): Decision {
  const port = facts.dest.port;
  if (self?.isSelf(ip, port)) {
    return {
      verdict: 'deny',
      ruleId: 'self',
      phase: 'ip',
      reason: `${formatHostPort(ip, port)} is one of egresskit's own listeners`,
      hint: 'point the client at a real destination; egresskit never proxies to itself',
      enforcement: 'enforce',
      address: ip,
    };
  }
  for (const rule of policy.rules) {
    if (rule.addresses.length === 0 || !applies(rule, facts)) continue;
    if (rule.addresses.some((p) => p.kind === 'cidr' && matchesAddress(p, ip))) return fromRule(rule, facts, 'ip', ip);
  }
  if (!policy.allowPrivate) {
    const { cls, via } = classifyAddress(ip);
    if (cls !== 'public') {
      const what = via ? `${ip} (which embeds ${via})` : ip;
      const named = facts.dest.hostKind === 'name' ? `${facts.dest.host} resolved to ` : '';
      return {
        verdict: 'deny',
        ruleId: 'private-address',
        phase: 'ip',
        reason: `${named}${what}, a ${cls} address`,
        hint: `allow this range with --allow ${via ?? ip}/${(via ?? ip).includes(':') ? 128 : 32} (or a wider CIDR), or all private ranges with --allow-private`,
        enforcement: 'enforce',
        address: ip,
      };
    }
  }
  if (hostDecision) return { ...hostDecision, address: ip };
  return defaultDecision(policy, facts, ip);
}

export function defaultDecision(policy: CompiledPolicy, facts: RequestFacts, address?: string): Decision {
  const d: Decision = {
    verdict: policy.defaultVerdict,
    ruleId: 'default',
    phase: address ? 'ip' : 'host',
    reason: `no rule matched ${facts.dest.host}; ${policy.defaultWhy}`,
    enforcement: policy.enforcement,
  };
  if (policy.defaultVerdict === 'deny') d.hint = `allow it with --allow ${facts.dest.host} (or a rule in policy.rules)`;
  if (address) d.address = address;
  return d;
}

/** A denial that is enforced stops the request; a report-mode denial is only logged. */
export function isRefusal(d: Decision): boolean {
  return d.verdict === 'deny' && d.enforcement === 'enforce';
}
