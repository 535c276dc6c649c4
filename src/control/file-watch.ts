import { createHash } from 'node:crypto';
import { watch, readFileSync, realpathSync, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export interface FileWatchOptions {
  /** The files to watch, asked again after each change (the htpasswd path can move with the config). */
  files(): string[];
  /** Called once the files' contents differ from the last time, after a quiet moment. */
  onChange(): void;
  /** Quiet time after the last event before reading: an editor's or a `cp`'s second write lands inside it. */
  debounceMs?: number;
  /** Fallback re-read, for file systems where fs.watch says nothing (NFS, some overlay and FUSE mounts). */
  pollMs?: number;
}

export const DEFAULT_DEBOUNCE_MS = 200;
export const DEFAULT_POLL_MS = 10_000;

/** One digest over every file's bytes (a missing file counts as its error code). */
export function filesDigest(files: string[]): string {
  const h = createHash('sha256');
  for (const file of files) {
    h.update(file).update('\0');
    try {
      h.update(readFileSync(file));
    } catch (err) {
      h.update(`missing:${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * Watches the directories the files are in, not the files. Kubernetes mounts a ConfigMap as
 * `file -> ..data/file` with `..data -> ..2026_01_01_00_00_00.123`, and updates it by renaming
 * a new `..data` over the old one: the file's own inode never changes, so a watch on the file
 * (or on the directory it resolved to at start, which kubelet then deletes) never fires again.
 * The directory holding the link sees the rename. The directory the link resolves to is
 * watched too, for links that point elsewhere; both are resolved again after each change.
 * Events only trigger a read: a change is a different content digest, so touch and chmod do
 * nothing, and a periodic re-read catches what fs.watch misses.
 */
export function watchFiles(opts: FileWatchOptions): { check(): void; stop(): void } {
  const debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  let digest = filesDigest(opts.files());
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const check = () => {
    if (stopped) return;
    const files = opts.files();
    const next = filesDigest(files);
    syncWatchers(files);
    if (next === digest) return;
    digest = next;
    opts.onChange();
  };
  const soon = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
    timer.unref();
  };
  const syncWatchers = (files: string[]) => {
    const dirs = new Set<string>();
    for (const file of files) {
      dirs.add(dirname(file));
      try {
        dirs.add(dirname(realpathSync(file)));
      } catch {
        // Missing for now (mid-swap, or not created yet): its directory is watched all the same.
      }
    }
    for (const [dir, w] of watchers) {
      if (!dirs.has(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, soon);
        // A watched directory that is deleted (the old ..2026_... after a swap) is dropped; the next check re-resolves.
        w.on('error', () => {
          w.close();
          if (watchers.get(dir) === w) watchers.delete(dir);
        });
        watchers.set(dir, w);
      } catch {
        // A directory that cannot be watched is still polled.
      }
    }
  };
  syncWatchers(opts.files());
  const poll = setInterval(check, opts.pollMs ?? DEFAULT_POLL_MS);
  poll.unref();
  return {
    check,
    stop() {
      stopped = true;
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
