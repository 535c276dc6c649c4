import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface TlsFiles {
  cert: string;
  key: string;
  clientCa: string;
  crl: string | undefined;
}

export class TlsMaterialError extends Error {
  override readonly name = 'TlsMaterialError';
}

/** --tls-dir follows the Secret layout cert-manager writes (tls.crt, tls.key, ca.crt). */
export function tlsFiles(tls: { dir?: string | undefined; cert?: string | undefined; key?: string | undefined; clientCa?: string | undefined; crl?: string | undefined }): TlsFiles {
  return {
    cert: tls.cert ?? join(tls.dir ?? '.', 'tls.crt'),
    key: tls.key ?? join(tls.dir ?? '.', 'tls.key'),
    clientCa: tls.clientCa ?? join(tls.dir ?? '.', 'ca.crt'),
    crl: tls.crl,
  };
}

export interface TlsMaterial {
  options: SecureContextOptions;
  /** Digest of all file contents, to notice a change however the files were swapped. */
  digest: string;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsMaterialError(`cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Reads and checks the files; a pair that does not match fails here, not at the first client. */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = read(files.cert, 'server certificate');
  const key = read(files.key, 'server key');
  const ca = read(files.clientCa, 'client CA');
  // Some tools label a CRL "BEGIN CRL"; OpenSSL only reads "BEGIN X509 CRL".
  const crl = files.crl ? Buffer.from(read(files.crl, 'CRL').toString('latin1').replace(/-----(BEGIN|END) CRL-----/g, '-----$1 X509 CRL-----'), 'latin1') : undefined;
  const options: SecureContextOptions = { cert, key, ca, ...(crl ? { crl } : {}) };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new TlsMaterialError(
      `the TLS files do not work together (${files.cert}, ${files.key}, ${files.clientCa}${files.crl ? `, ${files.crl}` : ''}): ${(err as Error).message}`,
    );
  }
  const h = createHash('sha256');
  for (const b of [cert, key, ca, crl ?? Buffer.alloc(0)]) h.update(b).update('\0');
  return { options, digest: h.digest('hex') };
}

/**
 * Polls the files and calls back with new material when their contents change. Polling the
 * contents (not fs.watch) is what survives Kubernetes' Secret updates, which swap a symlinked
 * directory rather than writing the files.
 */
export function watchTlsMaterial(
  files: TlsFiles,
  intervalMs: number,
  initialDigest: string,
  onChange: (material: TlsMaterial) => void,
  onError: (err: Error) => void,
): { stop(): void; check(): void } {
  let digest = initialDigest;
  let lastError = '';
  const check = () => {
    try {
      const material = loadTlsMaterial(files);
      lastError = '';
      if (material.digest === digest) return;
      digest = material.digest;
      onChange(material);
    } catch (err) {
      // Mid-swap reads can fail briefly; report each distinct problem once.
      if ((err as Error).message !== lastError) {
        lastError = (err as Error).message;
        onError(err as Error);
      }
    }
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  // check() is SIGHUP's: at once, instead of at the next tick.
  return { stop: () => clearInterval(timer), check };
}
