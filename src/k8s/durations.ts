const UNITS: [suffix: string, ms: number][] = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** 30000 -> "30s", 300000 -> "5m", 250 -> "250ms": the shortest form parseDuration reads back exactly. */
export function formatDuration(ms: number): string {
  if (ms > 0) {
    for (const [suffix, size] of UNITS) if (ms % size === 0) return `${ms / size}${suffix}`;
  }
  return `${ms}ms`;
}
