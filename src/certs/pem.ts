import { CertsError } from './errors.js';

export interface PemBlock {
  /** The word(s) between BEGIN and END, e.g. "CERTIFICATE", "PRIVATE KEY". */
  label: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/=\s]*$/;

/** All PEM blocks in order; text around them (openssl's "subject=..." comments) is ignored. */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const label = match[1] ?? '';
    const body = match[2] ?? '';
    // Encrypted legacy keys carry "Proc-Type:" headers; they are not base64 and not supported.
    if (!BASE64_BODY.test(body)) {
      throw new CertsError('NOT_PEM', `the PEM block "${label}" has headers or non-base64 content (an encrypted key?); egresskit needs unencrypted PEM`);
    }
    blocks.push({ label, der: Buffer.from(body.replace(/\s+/g, ''), 'base64') });
  }
  return blocks;
}

export function certificateDers(text: string, what = 'input'): Buffer[] {
  const certs = parsePemBlocks(text).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der);
  if (certs.length === 0) {
    throw new CertsError(
      'NOT_PEM',
      `${what} contains no PEM certificate (expected a "-----BEGIN CERTIFICATE-----" block). ` +
        'If it is DER, convert it first: openssl x509 -inform der -in FILE -out FILE.pem',
    );
  }
  return certs;
}

export function toPem(der: Uint8Array | ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Joins PEM texts so each starts on its own line, whatever the inputs end with. */
export function concatPem(...parts: string[]): string {
  return parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}
