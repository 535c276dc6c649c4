import { compileGlob, compileHostPattern, PatternError, type HostPattern } from './patterns.js';
import { buildPolicyIndex, type PolicyIndex } from './policy-index.js';
import type { Enforcement, SniCheck, Verdict } from '../model/decision.js';

export interface RuleSpec {
  id?: string | undefined;
  action: Verdict;
  hosts: string[];
  ports?: number[] | undefined;
  identities?: string[] | undefined;
  enforcement?: Enforcement | undefined;
  inspect?: 'intercept' | 'passthrough' | undefined;
  alpn?: 'auto' | 'http1' | undefined;
  sniCheck?: SniCheck | undefined;
  requireTls?: boolean | undefined;
}

export interface PolicySpec {
  default?: Verdict | undefined;
  allowPrivate: boolean;
  connectPorts: number[];
  enforcement: Enforcement;
  rules: RuleSpec[];
}

export interface CompiledRule {
  id: string;
  action: Verdict;
  /** Name patterns ("*" included), checked before resolution. */
  names: HostPattern[];
  /** Address patterns ("*" included), checked against IP literals and resolved addresses. */
  addresses: HostPattern[];
  ports: Set<number> | undefined;
  identity: ((principal: string) => boolean) | undefined;
  enforcement: Enforcement;
  inspect: 'intercept' | 'passthrough' | undefined;
  alpn: 'auto' | 'http1' | undefined;
  sniCheck: SniCheck | undefined;
  requireTls: boolean | undefined;
  describe: string;
}

export interface CompiledPolicy {
  rules: CompiledRule[];
  /** The rules by name and network, so a decision does not scan them all (policy-index.ts). */
  index: PolicyIndex;
  defaultVerdict: Verdict;
  /** Why the default is what it is, for the log line of a request no rule matched. */
  defaultWhy: string;
  allowPrivate: boolean;
  connectPorts: Set<number>;
  enforcement: Enforcement;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

export function compilePolicy(spec: PolicySpec, pathPrefix = 'policy.rules'): CompiledPolicy {
  const seen = new Set<string>();
  const rules = spec.rules.map((rule, i): CompiledRule => {
    const id = rule.id ?? `rule-${i + 1}`;
    if (seen.has(id)) throw new PolicyError(`duplicate rule id "${id}"`, `${pathPrefix}[${i}].id`);
    seen.add(id);
    if (rule.hosts.length === 0) throw new PolicyError('a rule needs at least one host pattern', `${pathPrefix}[${i}].hosts`);
    const names: HostPattern[] = [];
    const addresses: HostPattern[] = [];
    rule.hosts.forEach((source, j) => {
      let p: HostPattern;
      try {
        p = compileHostPattern(source);
      } catch (err) {
        if (err instanceof PatternError) throw new PolicyError(err.message, `${pathPrefix}[${i}].hosts[${j}]`);
        throw err;
      }
      if (p.kind === 'any') {
        names.push(p);
        addresses.push(p);
      } else if (p.kind === 'cidr') addresses.push(p);
      else names.push(p);
    });
    const matchers = rule.identities?.map(compileGlob);
    const where = rule.ports ? ` ports ${rule.ports.join(',')}` : '';
    const who = rule.identities ? ` for ${rule.identities.join(', ')}` : '';
    return {
      id,
      action: rule.action,
      names,
      addresses,
      ports: rule.ports ? new Set(rule.ports) : undefined,
      identity: matchers ? (principal) => matchers.some((m) => m(principal)) : undefined,
      enforcement: rule.enforcement ?? spec.enforcement,
      inspect: rule.inspect,
      alpn: rule.alpn,
      sniCheck: rule.sniCheck,
      requireTls: rule.requireTls,
      describe: `${rule.action} ${rule.hosts.join(', ')}${where}${who}`,
    };
  });
  const hasAllow = rules.some((r) => r.action === 'allow');
  const defaultVerdict = spec.default ?? (hasAllow ? 'deny' : 'allow');
  const defaultWhy = spec.default
    ? `policy.default is ${spec.default}`
    : hasAllow
      ? 'allow rules are set, so anything they do not name is denied (allow-list mode)'
      : 'no allow rules are set, so anything not denied is allowed';
  return {
    rules,
    index: buildPolicyIndex(rules),
    defaultVerdict,
    defaultWhy,
    allowPrivate: spec.allowPrivate,
    connectPorts: new Set(spec.connectPorts),
    enforcement: spec.enforcement,
  };
}
