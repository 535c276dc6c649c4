import { CidrIndex } from './cidr-index.js';
import type { CompiledRule } from './compile.js';
import { HostIndex } from './host-index.js';
import { visitInOrder, type RuleList } from './rule-order.js';

/**
 * Which rules can match a target, in rule order, without looking at every rule: decide.ts
 * then checks each candidate's ports and identities, first match winning as in a linear scan.
 * Built once per compiled policy (a reload compiles a new one).
 */
export interface PolicyIndex {
  /** Rules with a name pattern matching `host`, ascending, until `visit` returns true. */
  visitNameRules(host: string, visit: (rule: number) => boolean): void;
  /**
   * Rules with a CIDR containing `ip`, ascending, until `visit` returns true; with `withAny`,
   * also the rules with "*" (an IP literal target is named by "*", a resolved address is not).
   */
  visitAddressRules(ip: string, withAny: boolean, visit: (rule: number) => boolean): void;
}

export function buildPolicyIndex(rules: readonly CompiledRule[]): PolicyIndex {
  const names = new HostIndex();
  const cidrs = new CidrIndex();
  rules.forEach((rule, i) => {
    for (const p of rule.names) names.add(p, i);
    for (const p of rule.addresses) if (p.kind === 'cidr') cidrs.add(p, i);
  });
  names.seal();
  const any = names.any;
  return {
    visitNameRules(host, visit) {
      const lists: RuleList[] = [];
      names.candidates(host, lists);
      if (lists.length > 0) visitInOrder(lists, visit);
    },
    visitAddressRules(ip, withAny, visit) {
      const lists: RuleList[] = [];
      cidrs.candidates(ip, lists);
      if (withAny && any.length > 0) lists.push(any);
      if (lists.length > 0) visitInOrder(lists, visit);
    },
  };
}
