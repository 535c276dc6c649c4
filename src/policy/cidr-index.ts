import { embeddedIpv4Word } from './ip-classes.js';
import { ipv4Word, ipv6PrefixKey, ipv6Words, topBits } from './ip-bits.js';
import type { CidrPattern } from './patterns.js';
import { appendRule, type RuleList } from './rule-order.js';

/**
 * One hash per prefix length in use: an address's candidates are one lookup per distinct
 * length (at most 33 for IPv4, 129 for IPv6, a handful in practice), whatever the number of
 * rules. Lighter than a bit trie, which would hold up to a node per bit of every network.
 */
class PrefixTable<K> {
  private readonly byLength = new Map<number, Map<K, RuleList>>();
  /** The lengths in use, probed on every lookup. */
  lengths: number[] = [];

  add(prefix: number, key: K, rule: number): void {
    let table = this.byLength.get(prefix);
    if (!table) {
      table = new Map();
      this.byLength.set(prefix, table);
      this.lengths = [...this.byLength.keys()];
    }
    const list = table.get(key);
    if (list) appendRule(list, rule);
    else table.set(key, [rule]);
  }

  get(prefix: number, key: K): RuleList | undefined {
    return this.byLength.get(prefix)!.get(key);
  }
}

const scratch = new Uint32Array(4);

/** CIDR rules by network; the same matching as matchesAddress (patterns.ts), indexed. */
export class CidrIndex {
  private readonly v4 = new PrefixTable<number>();
  private readonly v6 = new PrefixTable<string>();

  add(p: CidrPattern, rule: number): void {
    if (p.family === 'ipv4') this.v4.add(p.prefix, p.key as number, rule);
    else this.v6.add(p.prefix, p.key as string, rule);
  }

  /**
   * Pushes onto `out` the lists of rules with a network containing `ip`, an address already
   * validated (a normalised target or a resolver's answer): the parsers here tell the families
   * apart, without the cost of isIP's IPv6 expression on every connection.
   */
  candidates(ip: string, out: RuleList[]): void {
    if (ip.indexOf(':') === -1) {
      const word = ipv4Word(ip);
      if (word >= 0) this.v4Candidates(word, out);
      return;
    }
    if (!ipv6Words(ip, scratch)) return;
    for (const len of this.v6.lengths) {
      const list = this.v6.get(len, ipv6PrefixKey(scratch, len));
      if (list) out.push(list);
    }
    // An IPv4 rule also covers the IPv6 spellings of that address (::ffff:10.0.0.1, NAT64, 6to4).
    if (this.v4.lengths.length > 0) {
      const v4 = embeddedIpv4Word(scratch);
      if (v4 >= 0) this.v4Candidates(v4, out);
    }
  }

  private v4Candidates(word: number, out: RuleList[]): void {
    for (const len of this.v4.lengths) {
      const list = this.v4.get(len, topBits(word, len));
      if (list) out.push(list);
    }
  }
}
