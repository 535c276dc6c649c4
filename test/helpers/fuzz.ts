import type { Parameters } from 'fast-check';

/**
 * How long a property runs. In the normal suite, `normal` cases (seconds for the whole file);
 * `npm run fuzz` sets FUZZ_RUNS for many more (README, "Testing"). FUZZ_SEED replays the
 * seed a failure printed. `cost` divides FUZZ_RUNS for properties that open a connection per case.
 */
export function fuzzParams<T>(normal: number, cost = 1): Parameters<T> {
  const runs = Number(process.env.FUZZ_RUNS ?? 0);
  const seed = process.env.FUZZ_SEED;
  return {
    numRuns: runs > 0 ? Math.max(normal, Math.ceil(runs / cost)) : normal,
    ...(seed ? { seed: Number(seed) } : {}),
    // A failure prints its seed and the smallest counterexample; in fuzz runs, also how far it got.
    verbose: runs > 0 ? 1 : 0,
    // The assertion that failed, in the report node:test prints (it does not print causes).
    includeErrorInReport: true,
  };
}
