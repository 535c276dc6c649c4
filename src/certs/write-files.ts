import { chmod, lstat, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CertsError, ioError } from './errors.js';

export interface OutputFile {
  name: string;
  content: string;
  /** Private keys and bundles containing them: written 0600. */
  secret: boolean;
}

export const SECRET_MODE = 0o600;
export const PUBLIC_MODE = 0o644;
export const PRIVATE_DIR_MODE = 0o700;

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw ioError('check', path, err);
  }
}

export async function existingPaths(paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) if (await exists(path)) found.push(path);
  return found;
}

/** Lets callers fail before minutes of RSA key generation, not after. */
export async function assertNoneExist(dir: string, names: readonly string[]): Promise<void> {
  refuseExisting(await existingPaths(names.map((n) => join(dir, n))));
}

function refuseExisting(existing: readonly string[]): void {
  if (existing.length === 0) return;
  throw new CertsError(
    'FILES_EXIST',
    `refusing to overwrite existing files: ${existing.join(', ')} (nothing was written). ` +
      'Use --force to replace them, or choose another output directory.',
  );
}

/** Creates `dir` (0700, since it will hold keys) if missing; an existing dir keeps its mode. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // The umask applies to mkdir too; a mask like 0277 would leave a directory we cannot write.
  if (created !== undefined) await chmod(dir, PRIVATE_DIR_MODE);
}

/**
 * Creates `path` with `mode`, failing if anything (a file, a symlink planted by someone else)
 * is already there. The mode is set again through the open handle because the umask may have
 * masked bits at creation.
 */
export async function writeNewFile(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Writes all files or none: without `force`, any existing target stops the whole write before
 * a byte is written; a failure half-way removes what this call created. With `force`, existing
 * entries are unlinked (not written through, so a symlink is replaced, not followed).
 * Returns the written paths in order.
 */
export async function writeFilesSafely(dir: string, files: readonly OutputFile[], options: { force?: boolean } = {}): Promise<string[]> {
  const paths = files.map((f) => join(dir, f.name));
  const existing = await existingPaths(paths);
  if (!options.force) refuseExisting(existing);
  try {
    await ensurePrivateDir(dir);
    for (const path of existing) await unlink(path);
  } catch (err) {
    throw ioError('write to', dir, err);
  }

  const written: string[] = [];
  for (const [i, file] of files.entries()) {
    const path = paths[i] ?? join(dir, file.name);
    try {
      await writeNewFile(path, file.content, file.secret ? SECRET_MODE : PUBLIC_MODE);
    } catch (err) {
      await Promise.allSettled(written.map((p) => unlink(p)));
      if (errnoCode(err) === 'EEXIST') {
        throw new CertsError('FILES_EXIST', `another process created ${path} while egresskit was writing; nothing was kept, try again`, { cause: err });
      }
      throw ioError('write', path, err);
    }
    written.push(path);
  }
  return written;
}
