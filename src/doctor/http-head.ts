import type { Duplex } from 'node:stream';

export interface HttpHead {
  version: string;
  status: number;
  statusText: string;
  /** Lowercased names; repeated fields joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

const MAX_HEAD = 64 * 1024;
const MAX_BODY = 16 * 1024;

/**
 * Reads one HTTP/1.x response head (and, when `withBody`, up to 16 KiB of a Content-Length
 * body) from a stream without consuming anything after it: a CONNECT tunnel's first bytes
 * belong to the TLS handshake that follows.
 */
export function readHead(stream: Duplex, timeoutMs: number, withBody: boolean): Promise<HttpHead> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let head: HttpHead | undefined;
    let want = 0;
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const done = (err: Error | undefined, value?: HttpHead, rest?: Buffer) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('error', onError);
      stream.off('end', onEnd);
      // Without a 'data' listener a flowing stream would drop what comes next.
      stream.pause();
      if (rest && rest.length) stream.unshift(rest);
      if (err) reject(err);
      else resolve(value!);
    };
    const onError = (err: Error) => done(err);
    const onEnd = () => (head ? done(undefined, { ...head, body: buf.toString('utf8') }) : done(Object.assign(new Error('the connection closed before an HTTP answer'), { code: 'ECONNRESET' })));
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > MAX_HEAD) done(new Error('the answer is not HTTP (no header end within 64 KiB)'));
          return;
        }
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        const m = /^(HTTP\/\d(?:\.\d)?) (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
        if (!m) return done(new Error(`the answer is not HTTP: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`));
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const i = line.indexOf(':');
          if (i <= 0) continue;
          const name = line.slice(0, i).trim().toLowerCase();
          const value = line.slice(i + 1).trim();
          headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
        }
        head = { version: m[1]!, status: Number(m[2]), statusText: m[3] ?? '', headers, body: '' };
        buf = buf.subarray(end + 4);
        want = withBody && headers['content-length'] !== undefined ? Math.min(Number(headers['content-length']) || 0, MAX_BODY) : 0;
      }
      if (buf.length >= want) done(undefined, { ...head, body: buf.subarray(0, want).toString('utf8') }, buf.subarray(want));
    };
    stream.on('data', onData);
    stream.on('error', onError);
    stream.on('end', onEnd);
  });
}
