import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chooseBalancing, reusePortAvailable } from '../../../src/server/balancing.js';
import { cgroupCpuLimit, cgroupV2Path, defaultWorkers, parseCfsQuota, parseCpuMax } from '../../../src/server/cpu-quota.js';
import { restartDelay } from '../../../src/server/worker-slot.js';

describe('--workers default: CPUs this process may use, capped by the cgroup CPU quota', () => {
  test('cgroup v2 cpu.max: "QUOTA PERIOD" is CPUs, "max" is no limit, anything else is ignored', () => {
    assert.equal(parseCpuMax('max 100000\n'), undefined);
    assert.equal(parseCpuMax('200000 100000\n'), 2);
    assert.equal(parseCpuMax('150000 100000'), 1.5);
    assert.equal(parseCpuMax('50000 100000'), 0.5);
    assert.equal(parseCpuMax('400000'), 4, 'the period defaults to 100000');
    assert.equal(parseCpuMax(''), undefined);
    assert.equal(parseCpuMax('garbage here'), undefined);
    assert.equal(parseCpuMax('0 100000'), undefined);
    assert.equal(parseCpuMax('-1 100000'), undefined);
  });

  test('cgroup v1: cfs_quota_us over cfs_period_us, -1 is no limit', () => {
    assert.equal(parseCfsQuota('-1\n', '100000\n'), undefined);
    assert.equal(parseCfsQuota('300000\n', '100000\n'), 3);
    assert.equal(parseCfsQuota('25000', '50000'), 0.5);
    assert.equal(parseCfsQuota('x', '100000'), undefined);
  });

  test('the v2 path comes from the "0::" line of /proc/self/cgroup', () => {
    assert.equal(cgroupV2Path('0::/kubepods/burstable/pod1/ctr\n'), '/kubepods/burstable/pod1/ctr');
    assert.equal(cgroupV2Path('0::/\n'), '/');
    assert.equal(cgroupV2Path('12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n'), undefined);
  });

  test('v2: the smallest limit from the process\'s cgroup up to the root wins (a Pod\'s and its container\'s)', () => {
    const files: Record<string, string> = {
      '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      '/sys/fs/cgroup/cpu.max': 'max 100000\n',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '150000 100000\n',
      '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '300000 100000\n',
    };
    assert.equal(cgroupCpuLimit((p) => files[p]), 1.5);
    // Inside a container's cgroup namespace the path is "/" and the limit sits at the root.
    assert.equal(cgroupCpuLimit((p) => ({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '250000 100000\n' })[p]), 2.5);
    assert.equal(cgroupCpuLimit((p) => ({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' })[p]), undefined);
  });

  test('v1 is read when there is no v2 line', () => {
    const files: Record<string, string> = {
      '/proc/self/cgroup': '4:cpu,cpuacct:/docker/abc\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '200000\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    };
    assert.equal(cgroupCpuLimit((p) => files[p]), 2);
    assert.equal(cgroupCpuLimit(() => undefined), undefined, 'no cgroup files (not Linux): no limit');
  });

  test('default: available CPUs capped by the quota, rounded up, at least 1, at most 256', () => {
    assert.equal(defaultWorkers(16, undefined), 16);
    assert.equal(defaultWorkers(16, 2), 2);
    assert.equal(defaultWorkers(16, 1.5), 2, 'rounded up, as Go and Envoy do');
    assert.equal(defaultWorkers(16, 0.25), 1);
    assert.equal(defaultWorkers(4, 8), 4, 'a quota above the affinity mask does not add CPUs');
    assert.equal(defaultWorkers(1, undefined), 1);
    assert.equal(defaultWorkers(512, undefined), 256);
  });
});

describe('workers: balancing and restart backoff', () => {
  test('SO_REUSEPORT balancing needs Node 22.12+ on Linux', () => {
    assert.equal(reusePortAvailable('20.18.0', 'linux'), false);
    assert.equal(reusePortAvailable('22.11.0', 'linux'), false);
    assert.equal(reusePortAvailable('22.12.0', 'linux'), true);
    assert.equal(reusePortAvailable('24.1.0', 'linux'), true);
    assert.equal(reusePortAvailable('24.1.0', 'darwin'), false);
  });

  test('EGRESSKIT_WORKER_BALANCING picks one for measuring; an unknown value is an error', () => {
    assert.equal(chooseBalancing('round-robin'), 'round-robin');
    assert.equal(chooseBalancing('shared'), 'shared');
    assert.equal(chooseBalancing(''), reusePortAvailable() ? 'reuseport' : 'shared');
    assert.throws(() => chooseBalancing('fastest'), /expected reuseport, shared or round-robin/);
  });

  test('a crash loop backs off: 0 for a worker that lived, then doubling from 100 ms up to 30 s', () => {
    assert.deepEqual([0, 1, 2, 3, 4].map(restartDelay), [0, 100, 200, 400, 800]);
    assert.equal(restartDelay(40), 30_000);
  });
});
