/**
 * A one-probe Bloom filter over name keys, hashed right to left so that every suffix of a name
 * is hashed in one pass without slicing it. With 100,000 rules the name maps outgrow the CPU
 * caches and each lookup is a memory miss; most lookups are for suffixes no rule has, and this
 * filter (16 bits a key, about 6% false positives) answers those from a few hundred KiB.
 */
export class KeyFilter {
  private bits = new Int32Array(1);
  private mask = 31;

  /** Sizes the filter for `keys` and sets their bits. */
  fill(keys: Iterable<string>, count: number): void {
    let size = 32;
    while (size < count * 16) size *= 2;
    this.bits = new Int32Array(size / 32);
    this.mask = size - 1;
    for (const key of keys) {
      let h = SEED;
      for (let i = key.length - 1; i >= 0; i--) h = step(h, key.charCodeAt(i));
      const bit = h & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  /** False when no key hashes to `h` (a hash from `step`); true means "look it up". */
  mayHave(h: number): boolean {
    const bit = h & this.mask;
    return (this.bits[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }
}

/** FNV-1a, fed one character at a time from the end of the key. */
export const SEED = 0x811c9dc5;
export function step(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193);
}
