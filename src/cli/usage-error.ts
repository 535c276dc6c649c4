/**
 * An error the user can fix by changing the command line or the config file. The CLI prints
 * its message as is and exits 2 (the convention of most Unix tools for bad usage), so a
 * message must already say what is wrong and how to fix it.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}
