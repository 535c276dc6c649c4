/**
 * Addresses as numbers, so that CIDR rules are compared by arithmetic instead of a BlockList
 * object per rule (100,000 BlockLists cost seconds to build and native memory to hold).
 * IPv4 is one unsigned 32-bit word; IPv6 four, most significant first.
 */

/** The dotted quad as an unsigned 32-bit number, or -1 when `text` is not one. */
export function ipv4Word(text: string, from = 0): number {
  let word = 0;
  let part = -1;
  let dots = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (part < 0 || dots === 3) return -1;
      word = word * 256 + part;
      part = -1;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part < 0 ? c - 48 : part * 10 + c - 48;
      if (part > 255) return -1;
    } else return -1;
  }
  if (part < 0 || dots !== 3) return -1;
  return word * 256 + part;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

// One scratch buffer: parsing is synchronous and the groups are folded into `out` before returning.
const groups = new Array<number>(8).fill(0);

/**
 * Parses any IPv6 spelling ("::" anywhere, upper case, leading zeros, a dotted-quad tail, a
 * zone index, which is ignored) into `out`. Returns false when `text` is not IPv6.
 */
export function ipv6Words(text: string, out: Uint32Array): boolean {
  const pct = text.indexOf('%');
  const end = pct === -1 ? text.length : pct;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < end) {
    let j = i;
    let v = 0;
    for (let h = j < end ? hexValue(text.charCodeAt(j)) : -1; h >= 0 && j - i < 5; h = j < end ? hexValue(text.charCodeAt(j)) : -1) {
      v = v * 16 + h;
      j++;
    }
    if (j < end && text.charCodeAt(j) === 46) {
      const w = ipv4Word(text.slice(i, end));
      if (w < 0 || n > 6) return false;
      groups[n++] = w >>> 16;
      groups[n++] = w & 0xffff;
      break;
    }
    if (j === i || j - i > 4 || n >= 8) return false;
    groups[n++] = v;
    if (j === end) break;
    if (text.charCodeAt(j) !== 58) return false;
    if (j + 1 < end && text.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === end) return false;
    }
  }
  if (gap >= 0) {
    if (n > 7) return false;
    const tail = n - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  } else if (n !== 8) return false;
  for (let k = 0; k < 4; k++) out[k] = ((groups[2 * k]! << 16) | groups[2 * k + 1]!) >>> 0;
  return true;
}

/** The top `bits` (0-32) of an unsigned word, as a number: the hash key of a prefix. */
export function topBits(word: number, bits: number): number {
  return bits === 0 ? 0 : bits === 32 ? word : word >>> (32 - bits);
}

/** The hash key of the first `prefix` bits of an IPv6 address (0-128). */
export function ipv6PrefixKey(words: Uint32Array, prefix: number): string {
  let key = '';
  for (let k = 0; k < 4; k++) {
    const bits = prefix - 32 * k;
    if (bits <= 0) break;
    key += `${topBits(words[k]!, bits > 32 ? 32 : bits)},`;
  }
  return key;
}

/** Whether the first `prefix` bits (0-128) of two IPv6 addresses are equal. */
export function ipv6InNetwork(words: Uint32Array, net: Uint32Array, prefix: number): boolean {
  for (let k = 0; k < 4; k++) {
    const bits = prefix - 32 * k;
    if (bits <= 0) return true;
    const b = bits > 32 ? 32 : bits;
    if (topBits(words[k]!, b) !== topBits(net[k]!, b)) return false;
  }
  return true;
}
