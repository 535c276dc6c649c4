import { randomBytes } from 'node:crypto';
import { CertsError, invalidInput } from './errors.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Beyond ~100 years, dates stop meaning anything and some parsers overflow. */
const MAX_DAYS = 36_500;
/** RFC 5280 ub-common-name; longer CNs are rejected by strict parsers. */
export const MAX_CN_LENGTH = 64;

/**
 * 16 random bytes with the top bit cleared (DER INTEGER stays positive, RFC 5280 4.1.2.2)
 * and the top byte non-zero (so it stays exactly 16 bytes, no minimal-encoding trim).
 */
export function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes;
}

export function randomSerialHex(): string {
  return randomSerial().toString('hex');
}

export function assertDays(days: unknown, what = 'days'): asserts days is number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw invalidInput(`${what} must be a whole number of days between 1 and ${MAX_DAYS}, got '${String(days)}'`);
  }
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/**
 * notBefore is set an hour back so a client whose clock is a little behind does not reject a
 * certificate minted seconds ago. Optional bounds keep a leaf inside its issuer's validity.
 */
export function validityWindow(days: number, bounds?: Validity, now = Date.now()): Validity {
  let notBefore = now - HOUR_MS;
  let notAfter = now + days * DAY_MS;
  if (bounds) {
    notBefore = Math.max(notBefore, bounds.notBefore.getTime());
    notAfter = Math.min(notAfter, bounds.notAfter.getTime());
    if (notAfter <= now) {
      throw new CertsError(
        'CA_INVALID',
        `the CA is not valid now (valid ${bounds.notBefore.toISOString()} to ${bounds.notAfter.toISOString()}); ` +
          'create a new one with: egresskit certs ca --out DIR --force',
      );
    }
  }
  // X.509 times have one-second resolution; truncating keeps the parsed-back value identical.
  return { notBefore: new Date(Math.floor(notBefore / 1000) * 1000), notAfter: new Date(Math.floor(notAfter / 1000) * 1000) };
}

export function assertCommonName(cn: unknown, what = 'CN'): asserts cn is string {
  if (typeof cn !== 'string' || cn.trim() === '') {
    throw invalidInput(`${what} must be a non-empty string`);
  }
  if (cn.length > MAX_CN_LENGTH) {
    throw invalidInput(`${what} '${cn}' is ${cn.length} characters; the X.509 limit is ${MAX_CN_LENGTH} (put long names in a SAN instead)`);
  }
}
