import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { InspectConfig } from '../config/schema.js';
import type { LeafIssuer } from '../certs/leaf.js';
import { InspectSetupError } from '../model/setup-error.js';

export interface InspectCA {
  certPem: string;
  issuer: LeafIssuer;
  /** ca.crt on disk, for the log line and the client's --cacert. */
  certFile: string;
}

/** "~/x" as the user means it; everything else relative to the working directory. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return resolve(path);
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new InspectSetupError(`cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The interception CA: a given one (--ca-cert/--ca-key, e.g. a mounted Secret), or the one in
 * --ca-dir, created on first start and reused on every later one (workloads trust it, so it
 * must survive restarts). The certs module (and its X.509 library) loads only here, so forward
 * and mtls never pay for it.
 */
export async function loadInspectCA(cfg: InspectConfig): Promise<InspectCA> {
  const certs = await import('../certs/index.js');
  const { assertUsableCA, parseCertificatePem } = await import('../certs/ca.js');
  try {
    let bundle: { cert: Parameters<typeof certs.createLeafIssuer>[0]; certPem: string; keyPem: string };
    let certFile: string;
    if (cfg.caCert && cfg.caKey) {
      certFile = resolve(cfg.caCert);
      const [certPem, keyPem] = await Promise.all([readText(certFile, 'CA certificate'), readText(resolve(cfg.caKey), 'CA key')]);
      const cert = parseCertificatePem(certPem, certFile);
      assertUsableCA(cert, keyPem, certFile);
      bundle = { cert, certPem, keyPem };
    } else {
      const dir = expandHome(cfg.caDir);
      bundle = await certs.loadOrCreateCA(dir, { cn: 'egresskit inspect CA' });
      certFile = join(dir, certs.CA_CERT_FILE);
    }
    const issuer = certs.createLeafIssuer(bundle.cert, createPrivateKey(bundle.keyPem));
    return { certPem: bundle.certPem, issuer, certFile };
  } catch (err) {
    if (err instanceof certs.CertsError) throw new InspectSetupError(err.message, { cause: err });
    throw err;
  }
}
