import { BodyTextCache, flowSubject, loadBodyText, type DecodeBudget } from './flow-subject.js';
import type { Flow } from './flow.js';
import type { FilterPredicate } from './filter/match.js';
import { BodyPending } from './filter/subject.js';
import { MAX_DECODED_EXPORT } from './har-body.js';

export interface SelectOptions {
  cache: BodyTextCache;
  /** Stop collecting after this many (matched still counts them all). */
  limit?: number;
  /** Decoded bytes this selection may produce (the HAR export's per-export limit by default). */
  budget?: DecodeBudget;
}

/** Work done between two returns to the event loop, so a big filter never stalls the proxy. */
const SLICE_MS = 8;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Whether one flow matches; encoded bodies are decoded (off the loop) only when the filter gets to them. */
export async function flowMatches(flow: Flow, predicate: FilterPredicate, cache: BodyTextCache, budget: DecodeBudget): Promise<boolean> {
  const subject = flowSubject(flow, cache);
  // At most two bodies can be pending, so at most three tries.
  for (;;) {
    try {
      return predicate(subject);
    } catch (err) {
      if (!(err instanceof BodyPending)) throw err;
      await loadBodyText(flow, err.which, cache, budget);
    }
  }
}

/** The flows (in the order given) that match, and how many matched in all. */
export async function selectFlows(flows: Flow[], predicate: FilterPredicate, opts: SelectOptions): Promise<{ flows: Flow[]; matched: number }> {
  const budget = opts.budget ?? { left: MAX_DECODED_EXPORT };
  const limit = opts.limit ?? Infinity;
  const out: Flow[] = [];
  let matched = 0;
  let sliceStart = performance.now();
  for (let i = 0; i < flows.length; i++) {
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
    const flow = flows[i]!;
    if (await flowMatches(flow, predicate, opts.cache, budget)) {
      matched++;
      if (out.length < limit) out.push(flow);
    }
  }
  return { flows: out, matched };
}
