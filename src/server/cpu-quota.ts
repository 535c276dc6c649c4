import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * How many CPUs a cgroup v2 `cpu.max` file ("QUOTA PERIOD", or "max PERIOD") allows, as a
 * fraction (1.5 for "150000 100000"); undefined when there is no limit or the text is not that.
 */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period = '100000'] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  return ratio(quota, period);
}

/** cgroup v1: cpu.cfs_quota_us ("-1" is no limit) over cpu.cfs_period_us. */
export function parseCfsQuota(quotaText: string, periodText: string): number | undefined {
  return ratio(quotaText.trim(), periodText.trim());
}

function ratio(quota: string, period: string): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  if (!Number.isInteger(q) || !Number.isInteger(p) || q <= 0 || p <= 0) return undefined;
  return q / p;
}

/**
 * The cgroup v2 path of this process ("0::/kubepods/.../cri-containerd-x") from /proc/self/cgroup;
 * undefined on cgroup v1 or outside Linux.
 */
export function cgroupV2Path(procSelfCgroup: string): string | undefined {
  for (const line of procSelfCgroup.split('\n')) if (line.startsWith('0::')) return line.slice(3).trim() || '/';
  return undefined;
}

type Read = (path: string) => string | undefined;

const readOrUndefined: Read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The CPU limit of this process's cgroup, in CPUs, or undefined. On v2 every level from the
 * process's own cgroup up to the root can carry a limit (a Pod's and its container's): the
 * smallest wins, as Go's runtime (1.25) reads it. Inside a container the namespace root is
 * /sys/fs/cgroup itself, which the walk reaches too.
 */
export function cgroupCpuLimit(read: Read = readOrUndefined): number | undefined {
  const own = cgroupV2Path(read('/proc/self/cgroup') ?? '');
  if (own !== undefined) {
    let limit: number | undefined;
    const parts = own.split('/').filter(Boolean);
    for (let depth = parts.length; depth >= 0; depth--) {
      const dir = ['/sys/fs/cgroup', ...parts.slice(0, depth)].join('/');
      const text = read(`${dir}/cpu.max`);
      const cpus = text === undefined ? undefined : parseCpuMax(text);
      if (cpus !== undefined) limit = limit === undefined ? cpus : Math.min(limit, cpus);
    }
    if (limit !== undefined) return limit;
  }
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    const quota = read(`${dir}/cpu.cfs_quota_us`);
    const period = read(`${dir}/cpu.cfs_period_us`);
    if (quota !== undefined && period !== undefined) return parseCfsQuota(quota, period);
  }
  return undefined;
}

/**
 * The default of --workers: the CPUs this process may run on (availableParallelism honours the
 * affinity mask, e.g. taskset or a cpuset) capped by the cgroup quota, rounded up (a 1.5-CPU
 * limit gets 2 workers, as Envoy's --concurrency and Go's GOMAXPROCS do), at least 1.
 */
export function defaultWorkers(available = availableParallelism(), limit = cgroupCpuLimit()): number {
  const capped = limit === undefined ? available : Math.min(available, Math.ceil(limit));
  return Math.max(1, Math.min(256, capped));
}
