import { Writable } from 'node:stream';
import { pino } from 'pino';

/** The three proxies' logs in one stdout, batched as `run-proxy` batches a single proxy's. */
export function sharedStdout() {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 8 * 1024 });
  const flusher = setInterval(() => stream.flush(), 200);
  flusher.unref();
  return {
    stream,
    /** Every buffered line is written before `done` (bounded, so a stuck stdout cannot hold the exit). */
    flush(done: () => void) {
      clearInterval(flusher);
      const timer = setTimeout(done, 2000);
      stream.flush(() => {
        clearTimeout(timer);
        done();
      });
    },
  };
}

/**
 * A log destination that marks each line with the proxy it came from, so one stdout can be
 * split again (`jq 'select(.mode=="inspect")'`). The control plane's logger is left as it is:
 * the tag is added on the way out. A JSON line gets a leading "mode" field; pretty output (which
 * arrives already formatted, possibly several lines per entry) gets a "[mode] " prefix.
 */
export function modeTaggedStream(mode: string, format: 'json' | 'pretty', out: { write(s: string): boolean }): Writable {
  const field = `"mode":${JSON.stringify(mode)}`;
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, done) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      out.write(format === 'json' ? tagJson(text, field) : tagPretty(text, mode));
      done();
    },
  });
}

function tagJson(text: string, field: string): string {
  // The "listening" line carries the same mode already; a second key would be a duplicate.
  if (!text.startsWith('{') || text.includes(field)) return text;
  return `{${field},${text.slice(1)}`;
}

function tagPretty(text: string, mode: string): string {
  return text.replace(/^(?=.)/gm, `[${mode}] `);
}
