import { accessSync, chmodSync, closeSync, constants, existsSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InspectSetupError } from '../model/setup-error.js';
import { sqliteErrorCode } from './sqlite-driver.js';

/** Captured bodies may hold credentials: the database and its -wal file are for this user only. */
const PRIVATE_MODE = 0o600;

/** One line for the operator: which file, what is wrong with it, what fixes it. */
export function flowDbError(path: string, reason: string, fix: string, cause?: unknown): InspectSetupError {
  return new InspectSetupError(`cannot use the flows database ${path} (--flows-db, inspect.flowsDb): ${reason}; ${fix}`, { cause });
}

function fsError(path: string, err: unknown): InspectSetupError {
  const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
  const dir = dirname(path);
  const why: Record<string, [string, string]> = {
    ENOENT: [`the directory ${dir} does not exist`, `create it (mkdir -p ${dir}) or give another path`],
    ENOTDIR: ['a part of the path is a file, not a directory', 'check the path'],
    EACCES: ['permission denied', `make ${dir} and the file writable for this user, or give another path`],
    EPERM: ['operation not permitted', `make ${dir} and the file writable for this user, or give another path`],
    EROFS: ['the file system is read-only', 'give a path on a writable volume (in Kubernetes: egresskit k8s render inspect --flows-db-size 1Gi)'],
  };
  const [reason, fix] = why[code] ?? [code, 'check the path'];
  return flowDbError(path, `${reason} (${code})`, fix, err);
}

/**
 * Checks the path before SQLite sees it (SQLite says "unable to open database file" for a
 * directory, a missing directory and a permission problem alike), and creates a new database
 * file 0600 itself: SQLite would create it 0644, and gives its -wal file the mode of the database.
 */
export function prepareDbFile(path: string): { created: boolean } {
  let isNew = false;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw flowDbError(path, 'it is a directory', `give a file path, e.g. --flows-db ${join(path, 'flows.db')}`);
    if (!st.isFile()) throw flowDbError(path, 'it is not a regular file', 'give the path of a file egresskit may create');
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    if (err instanceof InspectSetupError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(path, err);
    isNew = true;
  }
  try {
    // SQLite writes a -wal file beside the database, so the directory must be writable too.
    accessSync(dirname(path), constants.W_OK);
    if (isNew) closeSync(openSync(path, 'wx', PRIVATE_MODE));
  } catch (err) {
    throw fsError(path, err);
  }
  return { created: isNew };
}

/**
 * An existing database looser than 0600 is tightened (as the UI token file is), with its -wal
 * file; only once it has proved to be a flows database, so that a wrong path changes nothing.
 */
export function makePrivate(path: string): void {
  for (const file of [path, `${path}-wal`]) {
    try {
      if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, PRIVATE_MODE);
    } catch (err) {
      throw fsError(file, err);
    }
  }
}

/** Removes a database file this start created, when it then could not be set up. */
export function removeCreatedFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Nothing to clean up, or nothing more to do about it: the setup error is what matters.
  }
}

/** An error SQLite raised while opening or setting up the file, as an operator-facing message. */
export function sqliteOpenError(path: string, err: unknown): InspectSetupError {
  const code = sqliteErrorCode(err);
  const known: Record<string, [string, string]> = {
    SQLITE_NOTADB: ['the file is not a SQLite database', 'give a path of its own (egresskit creates the file), or move this file away'],
    SQLITE_BUSY: ['another process holds it (egresskit keeps its flows database locked while it runs)', 'stop the other egresskit, or give each its own --flows-db'],
    SQLITE_LOCKED: ['another process holds it (egresskit keeps its flows database locked while it runs)', 'stop the other egresskit, or give each its own --flows-db'],
    SQLITE_CORRUPT: ['the database is damaged (SQLITE_CORRUPT)', 'move it away and start with a new file'],
    SQLITE_FULL: ['the disk is full', 'free some space, or give a path on another volume'],
  };
  const [reason, fix] = (code === undefined ? undefined : known[code]) ?? [
    `SQLite cannot open it (${code ?? (err as Error).message})`,
    'make the file and its directory writable for this user (SQLite keeps a -wal file beside it), or give another path',
  ];
  return flowDbError(path, reason, fix, err);
}
