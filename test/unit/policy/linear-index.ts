/**
 * The straightforward decision the policy index must reproduce: every rule in file order, each
 * pattern tested on its own, CIDRs by Node's BlockList built from the rule's text (so neither the
 * index nor ip-bits.ts's arithmetic is trusted by the reference).
 */
import { BlockList, isIP } from 'node:net';
import type { CompiledPolicy } from '../../../src/policy/compile.js';
import { embeddedIpv4 } from '../../../src/policy/ip-classes.js';
import { matchesName } from '../../../src/policy/patterns.js';
import type { PolicyIndex } from '../../../src/policy/policy-index.js';

interface Net {
  list: BlockList;
  family: 'ipv4' | 'ipv6';
}

/** A CIDR (or bare address) as written in a rule, as a one-subnet BlockList. */
export function blockListOf(source: string): Net {
  const text = source.trim();
  const slash = text.indexOf('/');
  const addr = (slash === -1 ? text : text.slice(0, slash)).replace(/^\[(.*)\]$/, '$1');
  const family = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
  const prefix = slash === -1 ? (family === 'ipv4' ? 32 : 128) : Number(text.slice(slash + 1));
  const list = new BlockList();
  list.addSubnet(addr, prefix, family);
  return { list, family };
}

/** What matchesAddress did before the index: BlockList.check, IPv4 rules also on embedded IPv4. */
export function netContains(net: Net, ip: string): boolean {
  if (isIP(ip) === 4) return net.family === 'ipv4' && net.list.check(ip, 'ipv4');
  if (net.family === 'ipv6') return net.list.check(ip, 'ipv6');
  const v4 = embeddedIpv4(ip);
  return v4 !== undefined && net.list.check(v4, 'ipv4');
}

export function linearIndex(policy: CompiledPolicy): PolicyIndex {
  const { rules } = policy;
  const nets = rules.map((r) => r.addresses.filter((p) => p.kind === 'cidr').map((p) => blockListOf(p.source)));
  return {
    visitNameRules(host, visit) {
      for (let i = 0; i < rules.length; i++) if (rules[i]!.names.some((p) => matchesName(p, host)) && visit(i)) return;
    },
    visitAddressRules(ip, withAny, visit) {
      for (let i = 0; i < rules.length; i++) {
        const any = withAny && rules[i]!.addresses.some((p) => p.kind === 'any');
        if ((any || nets[i]!.some((n) => netContains(n, ip))) && visit(i)) return;
      }
    },
  };
}

/** The same compiled policy, deciding by a scan of every rule. */
export function linearPolicy(policy: CompiledPolicy): CompiledPolicy {
  return { ...policy, index: linearIndex(policy) };
}
