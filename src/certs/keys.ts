import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import { CertsError, invalidInput } from './errors.js';
import type { CryptoKey, CryptoKeyPair } from './x509.js';

export type KeyType = 'ec' | 'rsa';
export const KEY_TYPES: readonly KeyType[] = ['ec', 'rsa'];
/** The sizes every TLS stack accepts; odd sizes only cause interop surprises. */
export const RSA_KEY_SIZES: readonly number[] = [2048, 3072, 4096];

const { subtle } = webcrypto;

const EC_CURVES: Record<string, { webName: string; hash: string }> = {
  // node:crypto reports OpenSSL curve names; WebCrypto wants the NIST ones.
  prime256v1: { webName: 'P-256', hash: 'SHA-256' },
  secp384r1: { webName: 'P-384', hash: 'SHA-384' },
  secp521r1: { webName: 'P-521', hash: 'SHA-512' },
};

export function assertKeyType(value: unknown): asserts value is KeyType {
  if (!KEY_TYPES.includes(value as KeyType)) {
    throw invalidInput(`unknown key type '${String(value)}': use 'ec' (ECDSA P-256, the default) or 'rsa'`);
  }
}

export function assertRsaBits(bits: unknown): asserts bits is number {
  if (!RSA_KEY_SIZES.includes(bits as number)) {
    throw invalidInput(`unsupported RSA key size '${String(bits)}': use one of ${RSA_KEY_SIZES.join(', ')}`);
  }
}

/** ECDSA P-256 by default: small, fast, accepted by every current TLS client. */
export async function generateKeyPair(type: KeyType = 'ec', rsaBits = 2048): Promise<CryptoKeyPair> {
  assertKeyType(type);
  if (type === 'ec') {
    return subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  }
  assertRsaBits(rsaBits);
  return subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: rsaBits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
}

/** What @peculiar/x509 needs to sign with `key`; the hash follows the curve size (RFC 5480). */
export function signingAlgorithmFor(key: CryptoKey): { name: string; hash: string } {
  const alg = key.algorithm as { name: string; namedCurve?: string };
  if (alg.name === 'ECDSA') {
    const curve = Object.values(EC_CURVES).find((c) => c.webName === alg.namedCurve);
    return { name: 'ECDSA', hash: curve?.hash ?? 'SHA-256' };
  }
  return { name: alg.name, hash: 'SHA-256' };
}

export function isRsaKey(key: CryptoKey): boolean {
  return key.algorithm.name === 'RSASSA-PKCS1-v1_5';
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/**
 * A signing CryptoKey from a node KeyObject. Node 20 has no KeyObject.toCryptoKey, so the key
 * goes through PKCS#8 DER; it stays in memory.
 */
export async function keyObjectToCryptoKey(key: KeyObject): Promise<CryptoKey> {
  if (key.type !== 'private') {
    throw invalidInput(`expected a private key, got a ${key.type} key`);
  }
  const der = key.export({ type: 'pkcs8', format: 'der' });
  if (key.asymmetricKeyType === 'ec') {
    const curve = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) {
      throw new CertsError('CA_INVALID', `unsupported EC curve '${key.asymmetricKeyDetails?.namedCurve}': use P-256, P-384 or P-521`);
    }
    return subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: curve.webName }, false, ['sign']);
  }
  if (key.asymmetricKeyType === 'rsa') {
    return subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  }
  throw new CertsError('CA_INVALID', `unsupported key type '${key.asymmetricKeyType}': egresskit signs with EC (P-256/384/521) or RSA keys`);
}

/** Accepts PKCS#8, SEC1 ("EC PRIVATE KEY") and PKCS#1 ("RSA PRIVATE KEY") PEM, as openssl writes them. */
export async function importPrivateKeyPem(pem: string, what = 'private key'): Promise<CryptoKey> {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new CertsError('NOT_PEM', `${what} is not an unencrypted PEM private key (${(err as Error).message})`, { cause: err });
  }
  return keyObjectToCryptoKey(key);
}

/** "EC P-256", "RSA 2048", "Ed25519"... for people reading `certs show`. */
export function keyLabel(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve ?? 'unknown curve';
      return `EC ${EC_CURVES[curve]?.webName ?? curve}`;
    }
    case 'rsa':
      return `RSA ${details.modulusLength ?? '?'}`;
    case 'rsa-pss':
      return `RSA-PSS ${details.modulusLength ?? '?'}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}
