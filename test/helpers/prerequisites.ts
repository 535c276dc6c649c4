import { run } from './exec.js';
import { netnsUnavailable } from './netns.js';

/**
 * Something a group of tests needs from the machine (kubectl, go, openssl, network namespaces).
 * `.ci/run` installs all of them, so a missing one is a broken machine, not a reason to pass:
 * the tests fail and say what to install. They skip only when EGRESSKIT_TEST_SKIP_<NAME>=1 asks
 * (README, "Testing"), and then node --test counts them as skipped, which `.ci/run` refuses.
 */
export interface Prerequisite {
  /** For `{ skip }` on a describe or a test: the reason when the variable asks for a skip, else false. */
  skip: string | false;
  /** Throws what is missing and how to get it; call it first in the tests' `before` (or the test). */
  require(): void;
}

/** `probe` answers why the prerequisite is missing, or false when it is there; it is not run when skipping. */
export async function prerequisite(name: string, install: string, probe: () => Promise<string | false>): Promise<Prerequisite> {
  const variable = `EGRESSKIT_TEST_SKIP_${name}`;
  if (process.env[variable] === '1') return { skip: `${variable}=1`, require: () => undefined };
  const missing = await probe().catch((err: Error) => err.message);
  return {
    skip: false,
    require() {
      if (missing) throw new Error(`${missing}. ${install}; or set ${variable}=1 to skip these tests on purpose`);
    },
  };
}

/** A command that must run and exit 0 (its version flag, say). */
export function command(cmd: string, args: string[]): () => Promise<string | false> {
  return async () => {
    const r = await run(cmd, args);
    if (r.code === 0) return false;
    return `\`${cmd} ${args.join(' ')}\` ${r.code === -1 ? 'could not start (not on PATH?)' : `exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`}`;
  };
}

export const needNetns = (probeName: string): Promise<Prerequisite> =>
  prerequisite('NETNS', 'Run as root with iproute2 installed (apt-get install iproute2), as .ci/run does', () => netnsUnavailable(probeName));

export const needKubectl = (): Promise<Prerequisite> =>
  prerequisite('KUBECTL', 'Install kubectl (Debian: apt-get install kubernetes-client, as .ci/run does)', command('kubectl', ['version', '--client']));

export const needGo = (): Promise<Prerequisite> => prerequisite('GO', 'Install Go (Debian: apt-get install golang-go, as .ci/run does)', command('go', ['version']));

export const needOpenssl = (): Promise<Prerequisite> => prerequisite('OPENSSL', 'Install the openssl CLI (apt-get install openssl)', command('openssl', ['version']));
