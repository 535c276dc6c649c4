/**
 * Failures a person can fix (bad input, files in the way, a missing or broken CA). The CLI turns
 * these into UsageError; anything else escaping src/certs is a bug. Messages name the offending
 * value and the fix, because they are printed as is.
 */
export type CertsErrorCode =
  | 'INVALID_INPUT'
  | 'FILES_EXIST'
  | 'CA_NOT_FOUND'
  | 'CA_INCOMPLETE'
  | 'CA_INVALID'
  | 'KEY_MISMATCH'
  | 'NOT_PEM'
  | 'IO_FAILED';

export class CertsError extends Error {
  override readonly name = 'CertsError';

  constructor(
    readonly code: CertsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function invalidInput(message: string): CertsError {
  return new CertsError('INVALID_INPUT', message);
}

const IO_HINTS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent path is not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
};

/** Maps a filesystem error by errno (never by message text) to a message naming the path. */
export function ioError(action: string, path: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (!code || !(code in IO_HINTS)) return err;
  return new CertsError('IO_FAILED', `cannot ${action} ${path}: ${IO_HINTS[code]} (${code})`, { cause: err });
}
