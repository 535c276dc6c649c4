import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * The proxy's young generation is capped at SEMI_SPACE_MIB per semi-space (V8's new space is
 * two of them). V8 grows new space while the allocation rate is high, up to 16 MiB per
 * semi-space on Node 20 and 64 MiB on Node 24, and a proxy under load allocates fast: on
 * Node 24 new space alone reached 128 MiB of a 271 MiB peak RSS in the bench. Its objects
 * (requests, records, chunks of one exchange) die young, so a smaller nursery costs more
 * scavenges but little promotion: 1-2.5 % more CPU per operation for a third to a half less
 * peak RSS, measured side by side (README, "Start-up and memory").
 */
export const SEMI_SPACE_MIB = 8;

const FLAG = /^--max[-_]semi[-_]space[-_]size(=|$)/;

/**
 * Whether the operator chose the young generation's size (`--max-semi-space-size` on the
 * command line or in NODE_OPTIONS): then it is theirs, and egresskit leaves it alone.
 */
export function semiSpaceChosen(execArgv: readonly string[], nodeOptions = ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => FLAG.test(arg));
}

/**
 * Worker processes start with the cap as a real flag (cluster.fork passes execArgv), so V8
 * sizes their heap with it from the start.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS): string[] {
  if (semiSpaceChosen(execArgv, nodeOptions)) return [...execArgv];
  return [...execArgv, `--max-semi-space-size=${SEMI_SPACE_MIB}`];
}

/**
 * Caps the young generation of this process, already running. V8 reads its maximum only when
 * the heap is created, so it cannot be lowered from here; but the growth factor is read each
 * time new space grows (it doubles, from 1 MiB). After every GC the semi-space's capacity is
 * checked: once a doubling would pass the cap, growth is switched off (factor 1); below that
 * (V8 shrinks new space when the proxy is idle) it is switched back on. Growth needs a whole
 * capacity's worth of survivors since the last growth, several scavenges, and a proxy's
 * event-loop turns are short, so it does not double twice before the next check. The
 * capacity is used plus available bytes, not the committed size, which V8 also changes when
 * it uncommits the idle semi-space. `semiSpaceMiB` is a power of two, as V8's steps are.
 *
 * Only the CLI calls this: a library caller's process (a test runner) keeps its own heap.
 * Returns false when the operator chose the size themselves.
 */
export function capYoungGeneration(semiSpaceMiB = SEMI_SPACE_MIB): boolean {
  if (semiSpaceChosen(process.execArgv, process.env.NODE_OPTIONS)) return false;
  // Capacities come a little under powers of two (page headers): 0.98, 1.97, 3.93, 7.86 MiB.
  const stopAt = (semiSpaceMiB * 1024 * 1024 * 2) / 3;
  let growing = true;
  const check = () => {
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    const grow = space === undefined || space.space_used_size + space.space_available_size < stopAt;
    if (grow === growing) return;
    growing = grow;
    setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
  };
  check();
  new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
  return true;
}
