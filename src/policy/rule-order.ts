/** Rule indices in ascending order, each list built by appending rules in file order. */
export type RuleList = number[];

/** Appends `rule` unless it is already last (a rule naming the same key twice). */
export function appendRule(list: RuleList, rule: number): void {
  if (list[list.length - 1] !== rule) list.push(rule);
}

/**
 * Visits the union of ascending lists in ascending order, each rule once, until `visit` returns
 * true: "first matching rule wins" over candidates found in several places (an exact name and a
 * suffix, a /8 and a /24). Lazy, because the first candidate usually decides.
 */
export function visitInOrder(lists: readonly RuleList[], visit: (rule: number) => boolean): void {
  if (lists.length === 1) {
    for (const rule of lists[0]!) if (visit(rule)) return;
    return;
  }
  const at = new Array<number>(lists.length).fill(0);
  let last = -1;
  for (;;) {
    let best = -1;
    let from = -1;
    for (let k = 0; k < lists.length; k++) {
      const list = lists[k]!;
      const i = at[k]!;
      if (i < list.length && (from === -1 || list[i]! < best)) {
        best = list[i]!;
        from = k;
      }
    }
    if (from === -1) return;
    at[from]!++;
    if (best === last) continue;
    last = best;
    if (visit(best)) return;
  }
}
