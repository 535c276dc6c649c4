import type { CertBundle } from './bundle.js';
import { createCA } from './ca.js';
import { issueCert } from './issue.js';
import type { KeyType } from './keys.js';
import { concatPem } from './pem.js';
import { assertNoneExist, writeFilesSafely, type OutputFile } from './write-files.js';

export const DEFAULT_SERVER_SANS: readonly string[] = ['localhost', '127.0.0.1', '::1'];
export const MTLS_SERVER_CN = 'egresskit proxy';
export const MTLS_CLIENT_CN = 'egresskit client';

export const MTLS_FILES: readonly string[] = [
  'ca.crt', 'ca.key', 'server.crt', 'server.key', 'server.pem', 'client.crt', 'client.key', 'client.pem',
];

export interface MtlsBundleOptions {
  /** Names clients use to reach the proxy; default localhost, 127.0.0.1, ::1. */
  sans?: readonly string[];
  /** Validity of the server and client certificates (each kind's default otherwise). */
  days?: number;
  /** Validity of the CA; default 3650. */
  caDays?: number;
  keyType?: KeyType;
  rsaBits?: number;
  force?: boolean;
}

/** certificate + CA certificate + key: one file for tools that take a single PEM. */
export function combinedPem(bundle: CertBundle, ca: CertBundle): string {
  return concatPem(bundle.certPem, ca.certPem, bundle.keyPem);
}

export function certFiles(basename: string, bundle: CertBundle, ca: CertBundle): OutputFile[] {
  return [
    { name: `${basename}.crt`, content: bundle.certPem, secret: false },
    { name: `${basename}.key`, content: bundle.keyPem, secret: true },
    { name: `${basename}.pem`, content: combinedPem(bundle, ca), secret: true },
  ];
}

/**
 * A CA, a server certificate for the proxy and a client certificate, ready for mtls mode:
 * ca.crt ca.key server.crt server.key server.pem client.crt client.key client.pem.
 * Everything is generated before the first file is written. Returns the written paths.
 */
export async function writeMtlsBundle(outDir: string, options: MtlsBundleOptions = {}): Promise<string[]> {
  const { sans = DEFAULT_SERVER_SANS, days, caDays, keyType, rsaBits, force } = options;
  if (!force) await assertNoneExist(outDir, MTLS_FILES);
  const ca = await createCA({ days: caDays, keyType, rsaBits });
  const server = await issueCert({ ca, kind: 'server', cn: MTLS_SERVER_CN, sans, days, keyType, rsaBits });
  const client = await issueCert({ ca, kind: 'client', cn: MTLS_CLIENT_CN, days, keyType, rsaBits });
  const files = [
    { name: 'ca.crt', content: ca.certPem, secret: false },
    { name: 'ca.key', content: ca.keyPem, secret: true },
    ...certFiles('server', server, ca),
    ...certFiles('client', client, ca),
  ];
  return writeFilesSafely(outDir, files, { force });
}
