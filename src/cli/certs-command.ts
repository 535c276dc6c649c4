import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CertsError } from '../certs/errors.js';
import type { CertKind } from '../certs/issue.js';
import { KEY_TYPES, RSA_KEY_SIZES, type KeyType } from '../certs/keys.js';
import { parseSans } from '../certs/sans.js';
import { UsageError } from './usage-error.js';

export interface CertsCommandIO {
  /** Where results go; stdout unless a test captures them. */
  write?: (text: string) => void;
}

/** The port the curl hint assumes for an mtls listener. */
const EXAMPLE_PROXY_PORT = 8443;

interface KeyFlags {
  days?: string;
  keyType?: string;
  rsaBits?: string;
  force?: boolean;
}

/** `--san a,b --san c` -> [a, b, c]; empty pieces from stray commas are dropped. */
function collectSans(value: string, previous: string[] = []): string[] {
  return previous.concat(value.split(',').map((s) => s.trim()).filter((s) => s !== ''));
}

function parseDays(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new UsageError(`--days must be a whole number of days greater than 0, got '${value}' (e.g. --days 365)`);
  }
  return Number(value);
}

function parseKeyFlags(flags: KeyFlags): { days?: number; keyType: KeyType; rsaBits?: number } {
  const keyType = (flags.keyType ?? 'ec') as KeyType;
  if (!KEY_TYPES.includes(keyType)) {
    throw new UsageError(`unknown --key-type '${flags.keyType}': use --key-type ec (ECDSA P-256, the default) or --key-type rsa`);
  }
  let rsaBits: number | undefined;
  if (flags.rsaBits !== undefined) {
    if (keyType !== 'rsa') throw new UsageError('--rsa-bits only applies to RSA keys: add --key-type rsa, or drop --rsa-bits');
    rsaBits = Number(flags.rsaBits);
    if (!RSA_KEY_SIZES.includes(rsaBits)) {
      throw new UsageError(`--rsa-bits must be one of ${RSA_KEY_SIZES.join(', ')}, got '${flags.rsaBits}'`);
    }
  }
  return { days: parseDays(flags.days), keyType, rsaBits };
}

function checkSans(sans: string[]): void {
  try {
    parseSans(sans);
  } catch (err) {
    throw asUsageError(err, ' (fix the --san value)');
  }
}

function asUsageError(err: unknown, suffix = ''): unknown {
  return err instanceof CertsError ? new UsageError(err.message + suffix, { cause: err }) : err;
}

/** Library errors a person can fix become UsageError (exit 2); anything else is a bug and propagates. */
async function userFacing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asUsageError(err);
  }
}

async function readInput(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    const why: Record<string, string> = {
      ENOENT: 'no such file',
      EACCES: 'permission denied',
      EISDIR: 'it is a directory, not a file',
    };
    throw new UsageError(`cannot read ${flag} '${path}': ${why[code] ?? code} (${code}); check the path`, { cause: err });
  }
}

/** Quotes for a POSIX shell only when needed, so the printed command can be pasted. */
function shellQuote(s: string): string {
  return /^[A-Za-z0-9_/.:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function proxyHost(sans: string[]): string {
  const names = parseSans(sans);
  const dns = names.dns.find((n) => !n.startsWith('*.'));
  if (dns) return dns;
  const ip = names.ip[0];
  if (ip) return ip.includes(':') ? `[${ip}]` : ip;
  return 'localhost';
}

/**
 * The X.509 machinery (@peculiar/x509 and its dependencies, ~20 MiB of RSS) loads only when a
 * certs command runs, not in every proxy process.
 */
const certsLibrary = () => import('../certs/index.js');

export function registerCertsCommands(program: Command, io: CertsCommandIO = {}): void {
  const write = io.write ?? ((text: string) => void process.stdout.write(text));
  const certs = program.command('certs').description('Create and inspect certificates: an mTLS bundle, a CA, server/client certificates, Kubernetes Secrets.');

  certs
    .command('mtls')
    .description('Write a CA plus a server certificate for the proxy and a client certificate (ca.*, server.*, client.*).')
    .requiredOption('--out <dir>', 'directory to write into (created 0700 if missing)')
    .option('--san <names>', 'server names clients use to reach the proxy, comma-separated, repeatable (default: localhost,127.0.0.1,::1)', collectSans)
    .option('--days <n>', 'validity of the server and client certificates in days (the CA gets 3650)')
    .option('--key-type <type>', 'ec (ECDSA P-256) or rsa', 'ec')
    .option('--rsa-bits <n>', `RSA key size: ${RSA_KEY_SIZES.join(', ')} (default 2048)`)
    .option('--force', 'replace existing files')
    .action(async (opts: KeyFlags & { out: string; san?: string[] }) => {
      const { days, keyType, rsaBits } = parseKeyFlags(opts);
      const sans = opts.san?.length ? opts.san : undefined;
      if (sans) checkSans(sans);
      const { writeMtlsBundle } = await certsLibrary();
      const written = await userFacing(() => writeMtlsBundle(opts.out, { sans, days, keyType, rsaBits, force: opts.force }));
      const file = (name: string) => shellQuote(join(opts.out, name));
      write(
        `Wrote ${written.length} files:\n${written.map((p) => `  ${p}`).join('\n')}\n\n` +
          'Keep ca.key, *.key and *.pem private (written 0600). Clients need ca.crt, client.crt and client.key.\n\n' +
          `Test it (proxy in mtls mode listening on ${EXAMPLE_PROXY_PORT} with server.crt/server.key, trusting ca.crt):\n` +
          `  curl --proxy https://${proxyHost(sans ?? ['localhost'])}:${EXAMPLE_PROXY_PORT} --proxy-cacert ${file('ca.crt')} ` +
          `--proxy-cert ${file('client.crt')} --proxy-key ${file('client.key')} https://example.com\n`,
      );
    });

  certs
    .command('ca')
    .description('Write a new CA certificate and key (ca.crt, ca.key).')
    .requiredOption('--out <dir>', 'directory to write into (created 0700 if missing)')
    .option('--cn <name>', 'CA common name', 'egresskit CA')
    .option('--days <n>', 'validity in days (default 3650)')
    .option('--key-type <type>', 'ec (ECDSA P-256) or rsa', 'ec')
    .option('--rsa-bits <n>', `RSA key size: ${RSA_KEY_SIZES.join(', ')} (default 2048)`)
    .option('--force', 'replace existing files')
    .action(async (opts: KeyFlags & { out: string; cn: string }) => {
      const { days, keyType, rsaBits } = parseKeyFlags(opts);
      const { assertNoneExist, createCA, writeFilesSafely } = await certsLibrary();
      const written = await userFacing(async () => {
        if (!opts.force) await assertNoneExist(opts.out, ['ca.crt', 'ca.key']);
        const ca = await createCA({ cn: opts.cn, days, keyType, rsaBits });
        return writeFilesSafely(
          opts.out,
          [
            { name: 'ca.crt', content: ca.certPem, secret: false },
            { name: 'ca.key', content: ca.keyPem, secret: true },
          ],
          { force: opts.force },
        );
      });
      write(`Wrote:\n${written.map((p) => `  ${p}`).join('\n')}\nKeep ca.key private (written 0600); distribute ca.crt to whatever must trust this CA.\n`);
    });

  certs
    .command('issue')
    .description('Issue a server or client certificate from an existing CA (BASENAME.crt, .key, .pem).')
    .requiredOption('--ca <dir>', 'directory holding ca.crt and ca.key')
    .requiredOption('--kind <kind>', 'server or client')
    .requiredOption('--cn <name>', 'common name')
    .option('--san <names>', 'subject alternative names (DNS, IP, or URI such as spiffe://...), comma-separated, repeatable', collectSans)
    .requiredOption('--out <dir>', 'directory to write into (created 0700 if missing)')
    .option('--name <basename>', 'file name without extension (default: the kind)')
    .option('--days <n>', 'validity in days (default 825 for server, 365 for client)')
    .option('--key-type <type>', 'ec (ECDSA P-256) or rsa', 'ec')
    .option('--rsa-bits <n>', `RSA key size: ${RSA_KEY_SIZES.join(', ')} (default 2048)`)
    .option('--force', 'replace existing files')
    .action(async (opts: KeyFlags & { ca: string; kind: string; cn: string; san?: string[]; out: string; name?: string }) => {
      if (opts.kind !== 'server' && opts.kind !== 'client') {
        throw new UsageError(`unknown --kind '${opts.kind}': use --kind server (for a TLS server) or --kind client (for mTLS clients)`);
      }
      const kind: CertKind = opts.kind;
      const name = opts.name ?? kind;
      if (name === '' || name !== basename(name) || name.startsWith('.')) {
        throw new UsageError(`--name '${name}' must be a plain file name without '/' or a leading '.' (e.g. --name api-client)`);
      }
      const { days, keyType, rsaBits } = parseKeyFlags(opts);
      const sans = opts.san ?? [];
      checkSans(sans);
      const { assertNoneExist, certFiles, issueCert, loadCA, writeFilesSafely } = await certsLibrary();
      const written = await userFacing(async () => {
        const files = [`${name}.crt`, `${name}.key`, `${name}.pem`];
        if (!opts.force) await assertNoneExist(opts.out, files);
        const ca = await loadCA(opts.ca);
        const bundle = await issueCert({ ca, kind, cn: opts.cn, sans, days, keyType, rsaBits });
        return writeFilesSafely(opts.out, certFiles(name, bundle, ca), { force: opts.force });
      });
      write(`Wrote:\n${written.map((p) => `  ${p}`).join('\n')}\nKeep ${name}.key and ${name}.pem private (written 0600).\n`);
    });

  certs
    .command('show')
    .description('Describe the certificates in a PEM file (subject, SANs, validity, usages, fingerprint).')
    .argument('<file>', 'PEM file with one or more certificates')
    .action(async (file: string) => {
      const text = await readInput(file, 'certificate file');
      const { describeCerts, formatCertDescription, parsePemBlocks } = await certsLibrary();
      const descriptions = await userFacing(async () => describeCerts(text, file));
      let out = formatCertDescription(descriptions);
      const others = parsePemBlocks(text).filter((b) => b.label !== 'CERTIFICATE').map((b) => b.label);
      if (others.length > 0) out += `\nAlso in ${file} (not shown): ${others.join(', ')}\n`;
      write(out);
    });

  certs
    .command('k8s-secret')
    .description('Print a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) as YAML; pipe it to kubectl apply -f -.')
    .requiredOption('--name <name>', 'Secret name')
    .option('--namespace <ns>', 'namespace (omitted: kubectl uses the current one)')
    .requiredOption('--cert <file>', 'certificate PEM (tls.crt)')
    .requiredOption('--key <file>', 'private key PEM (tls.key)')
    .option('--ca <file>', 'CA certificate PEM (ca.crt)')
    .action(async (opts: { name: string; namespace?: string; cert: string; key: string; ca?: string }) => {
      const certPem = await readInput(opts.cert, '--cert file');
      const keyPem = await readInput(opts.key, '--key file');
      const caPem = opts.ca === undefined ? undefined : await readInput(opts.ca, '--ca file');
      const { k8sTlsSecretYaml } = await certsLibrary();
      write(await userFacing(async () => k8sTlsSecretYaml({ name: opts.name, namespace: opts.namespace, certPem, keyPem, caPem })));
    });
}
