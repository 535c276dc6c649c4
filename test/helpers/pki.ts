import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issueCert } from '../../src/certs/index.js';

export interface TestPki {
  dir: string;
  caFile: string;
  caPem: string;
  serverCert: string;
  serverKey: string;
  serverCertFile: string;
  serverKeyFile: string;
}

/**
 * A CA of the test's own that signs the local upstream's certificate; clients trust it through
 * --cacert / NODE_EXTRA_CA_CERTS / ca:, never by turning verification off.
 */
export async function makeTestPki(name = 'egresskit-test'): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  const ca = await createCA({ cn: `${name} upstream CA` });
  const server = await issueCert({ ca, kind: 'server', cn: 'localhost', sans: ['localhost', '127.0.0.1', '::1'] });
  const caFile = join(dir, 'upstream-ca.crt');
  const serverCertFile = join(dir, 'upstream.crt');
  const serverKeyFile = join(dir, 'upstream.key');
  await writeFile(caFile, ca.certPem);
  await writeFile(serverCertFile, server.certPem);
  await writeFile(serverKeyFile, server.keyPem, { mode: 0o600 });
  return { dir, caFile, caPem: ca.certPem, serverCert: server.certPem, serverKey: server.keyPem, serverCertFile, serverKeyFile };
}
