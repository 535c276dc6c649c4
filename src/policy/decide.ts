import { formatHostPort } from '../model/destination.js';
import { classifyAddress } from './ip-classes.js';
import type { CompiledPolicy, CompiledRule } from './compile.js';
import type { Decision, RequestFacts } from '../model/decision.js';

/** Addresses and ports of egresskit's own listeners, which it must never proxy to. */
export interface SelfAddresses {
  isSelf(ip: string, port: number): boolean;
}

/** Whether a rule speaks for this request at all (its ports and identities). */
export function ruleApplies(rule: CompiledRule, facts: RequestFacts): boolean {
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
  if (rule.alpn) d.alpn = rule.alpn;
  if (rule.sniCheck) d.sniCheck = rule.sniCheck;
  if (rule.requireTls !== undefined) d.requireTls = rule.requireTls;
  if (address) d.address = address;
  return d;
}

function isReportedDenial(d: Decision | undefined): boolean {
  return d !== undefined && d.verdict === 'deny' && d.enforcement === 'report';
}

/**
 * Phase one, on the requested name (or IP literal), before any DNS lookup: the port list and
 * the first rule whose patterns match. Undefined means "no rule spoke; decide after resolving".
 * An address rule (CIDR) never allows a name by itself: it decides IP literals, and lifts the
 * private-address guard for names that a name rule allowed.
 *
 * A report-mode denial does not stop the search: the rules after it still decide (an enforced
 * deny still refuses), and the denial rides along on the result to be logged as would-deny.
 */
export function decideHost(policy: CompiledPolicy, facts: RequestFacts): Decision | undefined {
  const { dest } = facts;
  let reported: Decision | undefined;
  if (!policy.connectPorts.has(dest.port)) {
    const d: Decision = {
      verdict: 'deny',
      ruleId: 'connect-ports',
      code: 'port_denied',
      phase: 'host',
      reason: `port ${dest.port} is not an allowed destination port (${[...policy.connectPorts].join(', ')})`,
      hint: `add ${dest.port} to --connect-ports (policy.connectPorts)`,
      enforcement: policy.enforcement,
    };
    if (isRefusal(d)) return d;
    reported = d;
  }
  // The index yields the rules whose patterns match, in rule order: the first that applies wins.
  let found: Decision | undefined;
  const visit = (i: number): boolean => {
    const rule = policy.rules[i]!;
    if (!ruleApplies(rule, facts)) return false;
    const d = fromRule(rule, facts, 'host');
    if (isReportedDenial(d)) {
      reported ??= d;
      return false;
    }
    found = d;
    return true;
  };
  if (dest.hostKind === 'name') policy.index.visitNameRules(dest.host, visit);
  else policy.index.visitAddressRules(dest.host, true, visit);
  if (found) return isRefusal(found) || !reported ? found : { ...found, reported };
  // In allow-list mode a name no rule names is refused here, without a DNS lookup that would
  // leak it; address rules still decide IP literals and what allowed names resolve to.
  if (dest.hostKind === 'name' && policy.defaultVerdict === 'deny') {
    const d = defaultDecision(policy, facts);
    if (isRefusal(d)) return d;
    reported ??= d;
  }
  return reported;
}

/** Splits a phase-one result into what was decided and what is only to be reported. */
function unpack(host: Decision | undefined): { decided: Decision | undefined; reported: Decision | undefined } {
  if (host && isReportedDenial(host)) return { decided: undefined, reported: host };
  if (!host) return { decided: undefined, reported: undefined };
  const { reported, ...decided } = host;
  return { decided, reported };
}

/** The final word: a refusal stands; otherwise a report-mode denial met on the way is logged. */
function settle(final: Decision, reported: Decision | undefined, address?: string): Decision {
  // The first report-mode denial is the most specific one (a rule before the default).
  const out = isRefusal(final) || !reported ? final : reported;
  return address ? { ...out, address } : out;
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
      code: 'loop_denied',
      phase: 'ip',
      reason: `${formatHostPort(ip, port)} is one of egresskit's own listeners`,
      hint: 'point the client at a real destination; egresskit never proxies to itself',
      enforcement: 'enforce',
      address: ip,
    };
  }
  let { decided, reported } = unpack(hostDecision);
  let allowedByAddress: Decision | undefined;
  let refused: Decision | undefined;
  policy.index.visitAddressRules(ip, false, (i) => {
    const rule = policy.rules[i]!;
    if (!ruleApplies(rule, facts)) return false;
    const d = fromRule(rule, facts, 'ip', ip);
    if (isReportedDenial(d)) {
      reported ??= d;
      return false;
    }
    if (isRefusal(d)) refused = d;
    else allowedByAddress = d;
    return true;
  });
  if (refused) return refused;
  if (!policy.allowPrivate && !allowedByAddress) {
    const { cls, via } = classifyAddress(ip);
    if (cls !== 'public') {
      const what = via ? `${ip} (which embeds ${via})` : ip;
      const named = facts.dest.hostKind === 'name' ? `${facts.dest.host} resolved to ` : '';
      return {
        verdict: 'deny',
        ruleId: 'private-address',
        code: 'address_denied',
        phase: 'ip',
        reason: `${named}${what}, a ${cls} address`,
        hint: privateHint(via ?? ip, !decided && policy.defaultVerdict === 'deny'),
        enforcement: 'enforce',
        address: ip,
      };
    }
  }
  if (decided && decided.verdict === 'deny') decided = undefined;
  return settle(allowedByAddress ?? decided ?? defaultDecision(policy, facts, ip), reported, ip);
}

/**
 * In allow-list mode nothing has allowed this address yet, so --allow-private alone would only
 * trade this refusal for the default one: name the CIDR rule, which does both.
 */
function privateHint(ip: string, allowListMiss: boolean): string {
  const cidr = `${ip}/${ip.includes(':') ? 128 : 32}`;
  if (allowListMiss) return `allow it with --allow ${cidr} (or a wider CIDR): an address rule both allows it and lifts the private-address guard`;
  return `allow this range with --allow ${cidr} (or a wider CIDR), or all private ranges with --allow-private`;
}

/** Phase two when a parent proxy resolves the name: only the host decision and the default. */
export function decideWithoutAddress(policy: CompiledPolicy, facts: RequestFacts, hostDecision: Decision | undefined): Decision {
  const { decided, reported } = unpack(hostDecision);
  return settle(decided ?? defaultDecision(policy, facts), reported);
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
