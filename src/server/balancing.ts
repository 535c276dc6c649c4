import cluster from 'node:cluster';

/**
 * How new connections reach the workers:
 * - `reuseport`: every worker binds the port itself with SO_REUSEPORT and the kernel hashes
 *   each new connection to one of them; the primary never sees a connection. Needs Node 22.12+
 *   (`listen({ reusePort })`) and Linux (elsewhere SO_REUSEPORT does not balance).
 * - `shared` (cluster.SCHED_NONE): the primary binds once and hands the listening socket to
 *   every worker; each accepts for itself. The primary costs nothing per connection, but the
 *   kernel wakes whichever worker is waiting, so a busy worker can get more than its share.
 * - `round-robin` (cluster.SCHED_RR, Node's default on Linux): the primary accepts every
 *   connection and passes it over IPC: balanced, but a sendmsg, a recvmsg and primary CPU per
 *   connection.
 * Measured side by side (forward, short CONNECTs, CPU of all egresskit processes per tunnel, the
 * README's Workers section): round-robin cost 40-50% more than the other two on Node 20 and 24;
 * SO_REUSEPORT and the shared socket cost the same within noise, and SO_REUSEPORT kept the
 * split near 50/50 where the shared socket drifted to 35/65. So: SO_REUSEPORT where the
 * runtime has it, else the shared socket; never round-robin unless asked.
 */
export type Balancing = 'reuseport' | 'shared' | 'round-robin';

export const BALANCING_ENV = 'EGRESSKIT_WORKER_BALANCING';

export function reusePortAvailable(version = process.versions.node, platform = process.platform): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return platform === 'linux' && (major > 22 || (major === 22 && minor >= 12));
}

/** The runtime's best, or what EGRESSKIT_WORKER_BALANCING asks for (for measuring); throws on a value it cannot do. */
export function chooseBalancing(env = process.env[BALANCING_ENV]): Balancing {
  if (env === undefined || env === '') return reusePortAvailable() ? 'reuseport' : 'shared';
  if (env !== 'reuseport' && env !== 'shared' && env !== 'round-robin') {
    throw new Error(`${BALANCING_ENV}=${env}: expected reuseport, shared or round-robin`);
  }
  if (env === 'reuseport' && !reusePortAvailable()) throw new Error(`${BALANCING_ENV}=reuseport needs Node 22.12+ on Linux; this is Node ${process.versions.node} on ${process.platform}`);
  return env;
}

/** Set before the first fork (cluster reads it once). */
export function applyBalancing(b: Balancing): void {
  cluster.schedulingPolicy = b === 'round-robin' ? cluster.SCHED_RR : cluster.SCHED_NONE;
}
