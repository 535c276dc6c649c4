import { KeyFilter, SEED, step } from './key-filter.js';
import type { HostPattern } from './patterns.js';
import { appendRule, type RuleList } from './rule-order.js';

/**
 * Name patterns by the strings they match. A name's candidates are one hash lookup for the
 * whole name and one per label boundary, whatever the number of rules: "*.example.com" matches
 * exactly the names ending in ".example.com", and every such ending starts at a dot of the name.
 */
export class HostIndex {
  /** Exact names, and the apex of ".example.com". */
  private readonly exact = new Map<string, RuleList>();
  /** ".example.com" for both "*.example.com" and ".example.com". */
  private readonly suffix = new Map<string, RuleList>();
  /** Rules with "*". */
  readonly any: RuleList = [];
  /** Every key of both maps, so that most misses cost no map lookup at all. */
  private readonly filter = new KeyFilter();

  add(p: HostPattern, rule: number): void {
    if (p.kind === 'any') appendRule(this.any, rule);
    else if (p.kind === 'exact') add(this.exact, p.host, rule);
    else if (p.kind === 'suffix') {
      add(this.suffix, p.suffix, rule);
      if (p.apex) add(this.exact, p.suffix.slice(1), rule);
    }
  }

  /** Called once every pattern is added. */
  seal(): void {
    this.filter.fill([...this.exact.keys(), ...this.suffix.keys()], this.exact.size + this.suffix.size);
  }

  /**
   * Pushes onto `out` the lists of rules whose name patterns match `host` (a normalised name):
   * the suffixes starting at each dot, then the whole name, hashed in one pass from the end.
   */
  candidates(host: string, out: RuleList[]): void {
    let h = SEED;
    for (let i = host.length - 1; i >= 0; i--) {
      const c = host.charCodeAt(i);
      h = step(h, c);
      if (c === 46 && this.filter.mayHave(h)) {
        const list = this.suffix.get(host.slice(i));
        if (list) out.push(list);
      }
    }
    if (this.filter.mayHave(h)) {
      const exact = this.exact.get(host);
      if (exact) out.push(exact);
    }
    if (this.any.length > 0) out.push(this.any);
  }
}

function add(map: Map<string, RuleList>, key: string, rule: number): void {
  const list = map.get(key);
  if (list) appendRule(list, rule);
  else map.set(key, [rule]);
}
