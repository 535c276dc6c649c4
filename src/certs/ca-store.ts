import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { CertBundle } from './bundle.js';
import { assertUsableCA, createCA, parseCertificatePem, type CreateCAOptions } from './ca.js';
import { CertsError, ioError } from './errors.js';
import { ensurePrivateDir, PUBLIC_MODE, SECRET_MODE, writeNewFile } from './write-files.js';

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read', path, err);
  }
}

/** Reads ca.crt and ca.key from `dir` and checks they are a CA and its key. */
export async function loadCA(dir: string): Promise<CertBundle> {
  const certPath = join(dir, CA_CERT_FILE);
  const keyPath = join(dir, CA_KEY_FILE);
  const [certPem, keyPem] = await Promise.all([readOptional(certPath), readOptional(keyPath)]);
  if (certPem === undefined && keyPem === undefined) {
    throw new CertsError('CA_NOT_FOUND', `no CA in ${dir} (${CA_CERT_FILE} and ${CA_KEY_FILE} not found); create one with: egresskit certs ca --out ${dir}`);
  }
  if (certPem === undefined || keyPem === undefined) {
    const [present, missing] = certPem === undefined ? [keyPath, certPath] : [certPath, keyPath];
    throw new CertsError(
      'CA_INCOMPLETE',
      `${present} exists but ${missing} is missing. Restore ${missing}; or, if nothing trusts this CA yet ` +
        `(e.g. an interrupted first start), delete ${present} so a new CA is created.`,
    );
  }
  const cert = parseCertificatePem(certPem, certPath);
  assertUsableCA(cert, keyPem, dir);
  return { cert, certPem, keyPem };
}

/**
 * The CA in `dir`, created on first use. It must survive restarts (clients trust it), so an
 * existing file is never replaced: files are created with O_EXCL, and a process that loses a
 * creation race to another one loads the winner's CA instead.
 */
export async function loadOrCreateCA(dir: string, options: CreateCAOptions = {}): Promise<CertBundle> {
  try {
    return await loadCAWaitingForWriter(dir);
  } catch (err) {
    if (!(err instanceof CertsError && err.code === 'CA_NOT_FOUND')) throw err;
  }
  const bundle = await createCA(options);
  try {
    await ensurePrivateDir(dir);
    // Key first: a crash in between leaves "key without cert", which loadCA reports plainly,
    // rather than a certificate nobody holds the key for.
    await writeNewFile(join(dir, CA_KEY_FILE), bundle.keyPem, SECRET_MODE);
    await writeNewFile(join(dir, CA_CERT_FILE), bundle.certPem, PUBLIC_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadCAWaitingForWriter(dir);
    throw ioError('create the CA in', dir, err);
  }
  return bundle;
}

/** Another process may be between writing ca.key and ca.crt; give it a moment. */
async function loadCAWaitingForWriter(dir: string, attempts = 20, delayMs = 100): Promise<CertBundle> {
  for (let i = 1; ; i++) {
    try {
      return await loadCA(dir);
    } catch (err) {
      if (!(err instanceof CertsError && err.code === 'CA_INCOMPLETE') || i >= attempts) throw err;
    }
    await sleep(delayMs);
  }
}
