import { recordChannel } from '../model/channels.js';
import type { ProxyRecord } from '../model/record.js';

/** The default of StartOptions.keepRecords: enough for a test suite, a few MB at most. */
export const DEFAULT_KEEP_RECORDS = 10_000;
/** How far a recordStream() reader may fall behind before it fails instead of growing without bound. */
export const STREAM_BACKLOG_LIMIT = 10_000;

/** One proxy instance's records, for the library's records() and recordStream(). */
export interface RecordBuffer {
  /** The last `keep` records, oldest first (a copy of the list; the records themselves as published). */
  list(): ProxyRecord[];
  /** The kept records (unless `replay` is false), then each new one as it is published; ends after end(). */
  stream(replay?: boolean): AsyncIterableIterator<ProxyRecord>;
  /** Ends every stream (after the proxy closed: no record can come any more) and unsubscribes. */
  end(): void;
}

interface Reader {
  queue: ProxyRecord[];
  wake: (() => void) | undefined;
  failed: Error | undefined;
}

export function attachRecordBuffer(instance: string, keep: number): RecordBuffer {
  // A ring by index: dropping the oldest is O(1) amortised, not an Array#shift per record.
  let kept: ProxyRecord[] = [];
  let head = 0;
  let ended = false;
  const readers = new Set<Reader>();
  const onRecord = (msg: unknown) => {
    const r = msg as ProxyRecord;
    if (r.instance !== instance) return;
    if (keep > 0) {
      kept.push(r);
      if (kept.length - head > keep) head++;
      if (head >= keep) {
        kept = kept.slice(head);
        head = 0;
      }
    }
    for (const reader of readers) {
      if (reader.failed) continue;
      if (reader.queue.length >= STREAM_BACKLOG_LIMIT) {
        reader.failed = new Error(`recordStream() fell more than ${STREAM_BACKLOG_LIMIT} records behind; read it as records come, or use records()`);
      } else reader.queue.push(r);
      reader.wake?.();
    }
  };
  recordChannel.subscribe(onRecord);
  const list = () => kept.slice(head);
  return {
    list,
    stream(replay = true) {
      const reader: Reader = { queue: replay ? list() : [], wake: undefined, failed: undefined };
      readers.add(reader);
      const iterator: AsyncIterableIterator<ProxyRecord> = {
        async next() {
          for (;;) {
            if (reader.queue.length > 0) return { value: reader.queue.shift()!, done: false };
            if (reader.failed) {
              readers.delete(reader);
              throw reader.failed;
            }
            if (ended || !readers.has(reader)) return { value: undefined, done: true };
            await new Promise<void>((resolve) => (reader.wake = resolve));
            reader.wake = undefined;
          }
        },
        // break / return in a for await: this reader stops queueing at once.
        async return() {
          readers.delete(reader);
          reader.queue.length = 0;
          // A next() still waiting (a reader that gave up on a timeout) ends too.
          reader.wake?.();
          return { value: undefined, done: true };
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
    end() {
      if (ended) return;
      ended = true;
      recordChannel.unsubscribe(onRecord);
      for (const reader of readers) reader.wake?.();
    },
  };
}
