import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'egresskit-certs-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function fileMode(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

/** Asserts an async call rejects with a CertsError-like code and a message matching `pattern`. */
export function errorWith(code: string, pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    const e = err as { code?: string; message?: string };
    if (e.code !== code) throw new Error(`expected code ${code}, got ${e.code}: ${e.message}`);
    if (!pattern.test(e.message ?? '')) throw new Error(`message ${JSON.stringify(e.message)} does not match ${pattern}`);
    return true;
  };
}
