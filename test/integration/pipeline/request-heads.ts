/**
 * Request heads for the socket-level property: well-formed ones aimed at a loopback upstream,
 * the same with a few mutations, and noise; and a strict reference parser (RFC 9112) that says
 * which of them a proxy may act on at all.
 */
import fc from 'fast-check';

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values: VCHAR, obs-text, SP and HTAB (RFC 9110 section 5.5). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e]+$/;

export interface ReferenceHead {
  method: string;
  target: string;
  version: '1.0' | '1.1';
}

/**
 * The first request head in `bytes` under RFC 9112's grammar, or undefined when it is not one.
 * Leniencies the RFC allows a recipient and that cannot reach the destination (the proxy sends
 * its own serialisation on): empty lines before the request line (section 2.2; llhttp skips any
 * CR and LF there, not only CRLF), more than one SP between its parts (section 3), a bare LF
 * ending a header line (section 2.2).
 */
export function referenceHead(bytes: string): ReferenceHead | undefined {
  const rest = bytes.replace(/^[\r\n]+/, '');
  const lineEnd = rest.indexOf('\r\n');
  if (lineEnd < 0) return undefined;
  const m = /^([^ ]+) +([^ ]+) +HTTP\/1\.([01])$/.exec(rest.slice(0, lineEnd));
  if (!m || !TCHAR.test(m[1]!) || !TARGET.test(m[2]!)) return undefined;
  let at = lineEnd + 2;
  const codings: string[] = [];
  for (;;) {
    const lf = rest.indexOf('\n', at);
    if (lf < 0) return undefined;
    const line = rest.slice(at, rest[lf - 1] === '\r' ? lf - 1 : lf);
    at = lf + 1;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0 || !TCHAR.test(line.slice(0, colon)) || !FIELD_VALUE.test(line.slice(colon + 1))) return undefined;
    if (line.slice(0, colon).toLowerCase() === 'transfer-encoding') codings.push(...line.slice(colon + 1).split(','));
  }
  // Section 6.3: a request whose last transfer coding is not chunked has no knowable length.
  if (codings.length > 0 && codings.at(-1)!.trim().toLowerCase() !== 'chunked') return undefined;
  return { method: m[1]!, target: m[2]!, version: m[3] as '1.0' | '1.1' };
}

/** Bytes that decide how a request head is cut. */
const CUT = ['\r', '\n', '\r\n', ' ', '\t', '\x00', '\x0b', '\x0c', '\x7f', ':', '/', '@', '?', '#', '%', 'é', '\xff', 'HTTP/1.1', ' HTTP/1.1\r\n', '\r\n\r\n', '\r\n ', 'Host: x\r\n'];

type Mutation = (head: string) => fc.Arbitrary<string>;
const at = (head: string) => fc.nat({ max: Math.max(0, head.length) });
const MUTATIONS: Mutation[] = [
  (h) => fc.tuple(at(h), fc.constantFrom(...CUT)).map(([i, s]) => h.slice(0, i) + s + h.slice(i)),
  (h) => at(h).map((i) => h.slice(0, i) + h.slice(i + 1)),
  (h) => fc.tuple(at(h), fc.constantFrom(...CUT)).map(([i, s]) => h.slice(0, i) + s + h.slice(i + 1)),
  (h) => fc.constantFrom('', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/1', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1.10').map((v) => h.replace(/ HTTP\/1\.[01]\r\n/, v ? ` ${v}\r\n` : '\r\n')),
  (h) => fc.nat(8).map((n) => h.replace(/\r\n/g, (crlf) => (n-- === 0 ? '\n' : crlf))),
  (h) => fc.constantFrom('Content-Length: 0\r\nContent-Length: 1\r\n', 'Transfer-Encoding: chunked\r\nContent-Length: 0\r\n', 'X-Folded: a\r\n b\r\n', 'Transfer-Encoding: x\r\n', 'Content-Length: -1\r\n', 'Host: a\r\nHost: b\r\n').map((extra) => h.replace(/\r\n\r\n$/, `\r\n${extra}\r\n`)),
  (h) => fc.nat({ max: h.length }).map((n) => h.slice(0, h.length - n)),
];

/**
 * A request head: aimed at the upstream (`port`), often mutated a few times, sometimes noise.
 * Bodies are left out on purpose: a head that promises one is answered when the client leaves.
 */
export function requestHead(port: number): fc.Arbitrary<string> {
  const target = (connect: boolean) =>
    connect
      ? fc.constantFrom(`127.0.0.1:${port}`, `localhost:${port}`, `[::ffff:127.0.0.1]:${port}`, `0x7f.1:${port}`)
      : fc.constantFrom(`http://127.0.0.1:${port}/`, `http://localhost:${port}/a?b=c`, `http://2130706433:${port}/x`, `http://[::ffff:7f00:1]:${port}/`);
  const header = fc.constantFrom('Host: localhost', 'Accept: */*', 'User-Agent: fuzz/1', 'X-Empty:', 'X-Obs-Text: caf\xe9', 'Connection: close', 'Proxy-Connection: keep-alive', 'Content-Length: 0', 'X-Tab:\tvalue\t');
  const valid = fc
    .tuple(fc.constantFrom('GET', 'HEAD', 'DELETE', 'OPTIONS', 'CONNECT', 'GET'), fc.constantFrom('1.1', '1.1', '1.0'), fc.array(header, { maxLength: 4 }))
    .chain(([method, version, headers]) => target(method === 'CONNECT').map((t) => `${method} ${t} HTTP/${version}\r\n${headers.map((x) => `${x}\r\n`).join('')}\r\n`));
  const mutated = valid.chain((head) => fc.array(fc.integer({ min: 0, max: MUTATIONS.length - 1 }), { minLength: 1, maxLength: 3 }).chain((ms) => ms.reduce((acc, m) => acc.chain(MUTATIONS[m]!), fc.constant(head))));
  return fc.oneof(
    { arbitrary: valid, weight: 2 },
    { arbitrary: mutated, weight: 6 },
    { arbitrary: fc.string({ unit: fc.constantFrom(...CUT, 'GET', 'CONNECT', `127.0.0.1:${port}`, 'http://'), maxLength: 12 }).map((s) => s), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 60 }), weight: 1 },
  );
}
