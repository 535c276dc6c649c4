// Import x509 through this module only: @peculiar/x509 v2 resolves its algorithms through
// tsyringe, which needs the Reflect metadata polyfill loaded first (ESM evaluates sibling
// imports in source order).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

// Node's webcrypto, not whatever globalThis.crypto a test runner or polyfill may have replaced.
x509.cryptoProvider.set(webcrypto);

export { x509 };
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
