/**
 * SIGTERM/SIGINT for a running proxy (or the dev stack): the first drains and exits 0 (1 when
 * closing fails), a second means "now" and exits at once with 130/143, as shells expect.
 * SIGHUP reloads, as for nginx, squid and haproxy; without a handler Node would exit on it.
 */
export function stopOnSignals(opts: {
  close(): Promise<void>;
  exit(code: number): void;
  /** Named in the error line ("egresskit", "egresskit dev"). */
  who: string;
  onFirst?(signal: NodeJS.Signals): void;
  /** SIGHUP: read the config and htpasswd files again. */
  reload?(): void;
}): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      opts.exit(signal === 'SIGINT' ? 130 : 143);
      return;
    }
    stopping = true;
    opts.onFirst?.(signal);
    opts.close().then(
      () => opts.exit(0),
      (err: Error) => {
        process.stderr.write(`${opts.who}: error while stopping: ${err.message}\n`);
        opts.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const reload = opts.reload;
  if (reload) process.on('SIGHUP', () => void (stopping || reload()));
}
