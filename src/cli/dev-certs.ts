import { writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { CertsError, DEFAULT_SERVER_SANS, loadOrCreateCA, MTLS_FILES, writeMtlsBundle } from '../certs/index.js';
import { existingPaths } from '../certs/write-files.js';
import { expandHome } from '../control/inspect-ca.js';
import { UsageError } from './usage-error.js';

/** Where `egresskit dev` keeps what it generates; every path is absolute, for pasting. */
export interface DevCerts {
  dir: string;
  /** The mtls listener's CA, server and client certificates (`certs mtls`'s bundle). */
  mtlsDir: string;
  mtlsCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** The interception CA (inspect's --ca-dir), and the UI token when the UI needs one. */
  inspectDir: string;
  inspectCa: string;
  /** The system roots plus the inspect CA, for variables that replace the trust store. */
  inspectBundle: string;
  /** Whether this start created the mtls bundle (false: reused from an earlier start). */
  created: boolean;
}

/**
 * Generated on the first start and reused afterwards, so that a CA a browser or a shell was told
 * to trust keeps working across restarts. A half-written bundle is refused rather than
 * completed: its server and client certificates may come from different CAs.
 */
export async function ensureDevCerts(dirArg: string, host: string): Promise<DevCerts> {
  const dir = expandHome(dirArg);
  const mtlsDir = join(dir, 'mtls');
  const inspectDir = join(dir, 'inspect');
  let created = false;
  try {
    const present = await existingPaths(MTLS_FILES.map((f) => join(mtlsDir, f)));
    if (present.length < MTLS_FILES.length) {
      if (present.length > 0) {
        throw new UsageError(
          `${mtlsDir} holds only part of the development certificates (${present.length} of ${MTLS_FILES.length} files); delete ${dir} (or pick another --dir) and start again to generate a new set`,
        );
      }
      // The server certificate must name the address clients dial, or curl refuses it.
      const sans = isIP(host) && !isWildcard(host) && !DEFAULT_SERVER_SANS.includes(host) ? [...DEFAULT_SERVER_SANS, host] : DEFAULT_SERVER_SANS;
      await writeMtlsBundle(mtlsDir, { sans });
      created = true;
    }
    const ca = await loadOrCreateCA(inspectDir, { cn: 'egresskit dev inspect CA' });
    const inspectBundle = join(inspectDir, 'ca-bundle.crt');
    // Rewritten on every start: it follows Node's bundled roots, and nothing secret is in it.
    await writeFile(inspectBundle, [...rootCertificates, ca.certPem].map((p) => p.trim()).join('\n') + '\n', { mode: 0o644 });
    return {
      dir,
      mtlsDir,
      mtlsCa: join(mtlsDir, 'ca.crt'),
      serverCert: join(mtlsDir, 'server.crt'),
      serverKey: join(mtlsDir, 'server.key'),
      clientCert: join(mtlsDir, 'client.crt'),
      clientKey: join(mtlsDir, 'client.key'),
      inspectDir,
      inspectCa: join(inspectDir, 'ca.crt'),
      inspectBundle,
      created,
    };
  } catch (err) {
    if (err instanceof CertsError) throw new UsageError(err.message);
    throw err;
  }
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}
