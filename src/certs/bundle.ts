import type { x509 } from './x509.js';

/** A certificate and its private key as PEM text, e.g. read from ca.crt and ca.key. */
export interface PemPair {
  certPem: string;
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
  keyPem: string;
}

export interface CertBundle extends PemPair {
  cert: x509.X509Certificate;
}
