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
  /** Checked between chunks: a client that went away stops the work (what was found so far is returned). */
  cancelled?: () => boolean;
}

/** Work done between two returns to the event loop, so a big filter never stalls the proxy. */
const SLICE_MS = 8;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** true/false, or the body that must be decoded before the filter can tell. */
function tryMatch(flow: Flow, predicate: FilterPredicate, cache: BodyTextCache): boolean | BodyPending {
  try {
    return predicate(flowSubject(flow, cache));
  } catch (err) {
    if (err instanceof BodyPending) return err;
    throw err;
  }
}

/** Whether one flow matches; encoded bodies are decoded (off the loop) only when the filter gets to them. */
export async function flowMatches(flow: Flow, predicate: FilterPredicate, cache: BodyTextCache, budget: DecodeBudget): Promise<boolean> {
  // At most two bodies can be pending, so at most three tries.
  for (;;) {
    const r = tryMatch(flow, predicate, cache);
    if (typeof r === 'boolean') return r;
    await loadBodyText(flow, r.which, cache, budget);
  }
}

/** Bodies decoded at once: zlib's thread pool has 4 threads, and each decode may hold 16 MiB. */
const DECODE_CONCURRENCY = 4;
/** Flows looked at between two checks of the clock (and two rounds of parallel decoding). */
const CHUNK = 64;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The flows (in the order given) that match, and how many matched in all. */
export async function selectFlows(flows: Flow[], predicate: FilterPredicate, opts: SelectOptions): Promise<{ flows: Flow[]; matched: number }> {
  const budget = opts.budget ?? { left: MAX_DECODED_EXPORT };
  const limit = opts.limit ?? Infinity;
  const out: Flow[] = [];
  let matched = 0;
  let sliceStart = performance.now();
  for (let start = 0; start < flows.length; start += CHUNK) {
    if (opts.cancelled?.()) break;
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
    const chunk = flows.slice(start, start + CHUNK);
    // Synchronous unless a body must be decoded first: an await per flow would cost more than the match.
    const results: boolean[] = [];
    const pending: number[] = [];
    chunk.forEach((flow, i) => {
      const r = tryMatch(flow, predicate, opts.cache);
      if (typeof r === 'boolean') results[i] = r;
      else pending.push(i);
    });
    if (pending.length > 0) {
      const decided = await mapLimit(pending, DECODE_CONCURRENCY, (i) => flowMatches(chunk[i]!, predicate, opts.cache, budget));
      pending.forEach((i, k) => (results[i] = decided[k]!));
      sliceStart = performance.now();
    }
    chunk.forEach((flow, i) => {
      if (!results[i]) return;
      matched++;
      if (out.length < limit) out.push(flow);
    });
  }
  return { flows: out, matched };
}
