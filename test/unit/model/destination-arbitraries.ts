/** Generators for destination and address properties: valid shapes, near misses and noise. */
import fc from 'fast-check';

export function dotted(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** One part of a WHATWG IPv4 host in decimal, octal (leading 0) or hex (0x, any case, "0x" alone is 0). */
function part(value: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(String(value)),
    fc.nat(3).map((zeros) => `0${'0'.repeat(zeros)}${value.toString(8)}`),
    fc.tuple(fc.constantFrom('0x', '0X'), fc.nat(3), fc.boolean()).map(([prefix, zeros, upper]) => {
      const digits = value === 0 && zeros === 0 ? '' : '0'.repeat(zeros) + value.toString(16);
      return prefix + (upper ? digits.toUpperCase() : digits);
    }),
  );
}

/** An IPv4 address and one of its spellings: a.b.c.d, a.b.(16 bits), a.(24 bits), one 32-bit number. */
export const ipv4Spelling: fc.Arbitrary<{ n: number; text: string }> = fc
  .tuple(fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0x7f000001, 0xa9fea9fe, 0xffffffff, 0x0a000001)), fc.integer({ min: 1, max: 4 }), fc.boolean())
  .chain(([n, count, trailingDot]) => {
    const b = [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff] as const;
    const values =
      count === 4 ? [...b] : count === 3 ? [b[0], b[1], (b[2] << 8) | b[3]] : count === 2 ? [b[0], ((b[1] << 16) | (b[2] << 8) | b[3]) >>> 0] : [n];
    return fc.tuple(...values.map(part)).map((parts) => ({ n, text: parts.join('.') + (trailingDot ? '.' : '') }));
  });

/** Characters that decide how an authority or request line is cut. */
const INTERESTING = [...'aZ09.-_:[]%@/\\?# \t\r\n\x00\x7fxX', 'ß', 'İ', '。', '\u00a0', '\u2028', 'é', '\ufeff'];

const portText = fc.oneof(
  fc.integer({ min: 0, max: 99_999 }).map(String),
  fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 65535 })).map(([zeros, p]) => '0'.repeat(zeros) + String(p)),
  fc.constantFrom('', '0', '65535', '65536', '+1', '-1', '1e3', '0x50', ' 80', '80 ', '٣', '443:443'),
);

const unicodeLabel = fc.string({ unit: fc.constantFrom(...'abcXYZ0-_', 'ß', 'é', 'ü', 'İ', 'ς', '日本', '\u200d', '\u0301'), minLength: 1, maxLength: 12 });

const hostText = fc.oneof(
  fc.domain(),
  fc.mixedCase(fc.domain()),
  fc.domain().map((d) => `${d}.`),
  ipv4Spelling.map((s) => s.text),
  fc.ipV6().map((ip) => `[${ip}]`),
  fc.mixedCase(fc.ipV6()).map((ip) => `[${ip}]`),
  fc.ipV6(),
  fc.array(unicodeLabel, { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.')),
  fc.string({ unit: fc.constantFrom(...INTERESTING), maxLength: 12 }).map((s) => `[${s}]`),
  fc.constantFrom('localhost', 'LOCALHOST.', '', '.', '..', '[]', '[::1', '::1]', 'a..b', '-a.com', 'a-.com', 'xn--zca.com', 'xn--a.com', '%31%32%37.0.0.1', 'exa%00mple.com'),
);

/** CONNECT authorities and Host values: well-formed, nearly so, and noise. */
export const authorityLike: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.tuple(hostText, fc.option(portText, { nil: undefined })).map(([h, p]) => (p === undefined ? h : `${h}:${p}`)), weight: 6 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...INTERESTING), maxLength: 30 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 1 },
);

/** Absolute-URI request targets. */
export const uriLike: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc.webUrl({
      validSchemes: ['http', 'https', 'ws', 'wss', 'ftp', 'file'],
      authoritySettings: { withIPv4: true, withIPv6: true, withIPv4Extended: true, withUserInfo: true, withPort: true },
      withQueryParameters: true,
      withFragments: true,
    }),
    weight: 3,
  },
  {
    arbitrary: fc
      .tuple(fc.constantFrom('http', 'https', 'HTTP', 'ws', 'wss', 'ftp', 'javascript', 'data', ''), fc.constantFrom('://', ':/', ':', ':\\\\', '://user:pw@'), authorityLike, fc.constantFrom('', '/', '/a?b#c', '?q', '#f', '\\x', '/%2e%2e/'))
      .map(([s, sep, a, path]) => `${s}${sep}${a}${path}`),
    weight: 4,
  },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 1 },
);
