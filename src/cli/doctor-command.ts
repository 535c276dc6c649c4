import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { parseDuration } from '../config/duration.js';
import { redact } from '../doctor/redact.js';
import { UsageError } from './usage-error.js';

export interface DoctorCommandIO {
  write?: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

interface DoctorFlags {
  proxy?: string;
  cacert?: string;
  proxyCacert?: string;
  proxyCert?: string;
  proxyKey?: string;
  proxyUser?: string;
  json?: boolean;
  timeout: string;
  runtime: string;
}

const RUNTIME_CHOICES = ['curl', 'go', 'python', 'node', 'java', 'all'] as const;

function parseUrl(value: string, what: string, schemes: string[]): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new UsageError(`${what} '${redact(value)}' is not a URL (e.g. https://example.com/)`);
  }
  if (!schemes.includes(url.protocol)) throw new UsageError(`${what} '${redact(value)}' must be ${schemes.map((s) => `${s}//`).join(' or ')}`);
  return url;
}

async function readPem(path: string | undefined, flag: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${flag} '${path}' (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path`, { cause: err });
  }
}

export function registerDoctorCommand(program: Command, io: DoctorCommandIO = {}): void {
  const write = io.write ?? ((text: string) => void process.stdout.write(text));
  program
    .command('doctor')
    .description('Find out why a request through a proxy fails: which proxy each runtime would use, then every hop to the target, with a fix.')
    .argument('<url>', 'the URL to request, e.g. https://example.com/')
    .option('--proxy <url>', 'proxy to test (http:// or https://); default: the one the environment gives curl (or --runtime)')
    .option('--cacert <file>', 'CA bundle for the target, replacing the default store (as curl --cacert)')
    .option('--proxy-cacert <file>', 'CA that signed an https:// proxy\'s certificate')
    .option('--proxy-cert <file>', 'client certificate for an mtls proxy (PEM; may hold the key too)')
    .option('--proxy-key <file>', 'key of the client certificate')
    .option('--proxy-user <user:password>', 'Basic credentials for the proxy')
    .option('--json', 'print the report as one JSON document')
    .option('--timeout <duration>', 'time allowed to each hop (e.g. 5s, 500ms)', '10s')
    .option('--runtime <name>', `runtimes to explain: ${RUNTIME_CHOICES.join(', ')}`, 'all')
    .addHelpText('after', '\nExit codes: 0 the request worked end to end; 2 usage; 3 proxy unreachable; 4 refused by the proxy; 5 trust (a certificate); 6 the target failed.')
    .action(async (target: string, flags: DoctorFlags) => {
      const url = parseUrl(target, 'URL', ['http:', 'https:']);
      const proxy = flags.proxy === undefined ? undefined : parseUrl(flags.proxy, '--proxy', ['http:', 'https:']);
      const timeoutMs = parseDuration(flags.timeout);
      if (timeoutMs === undefined || timeoutMs <= 0) throw new UsageError(`--timeout must be a duration such as 5s or 500ms, got '${flags.timeout}'`);
      if (!(RUNTIME_CHOICES as readonly string[]).includes(flags.runtime)) throw new UsageError(`unknown --runtime '${flags.runtime}': use one of ${RUNTIME_CHOICES.join(', ')}`);
      if (flags.proxyUser !== undefined && !flags.proxyUser.includes(':')) throw new UsageError('--proxy-user must be USER:PASSWORD');
      const proxyCert = await readPem(flags.proxyCert, '--proxy-cert');
      // A combined PEM (client.pem) carries its key, as curl accepts.
      const proxyKey = (await readPem(flags.proxyKey, '--proxy-key')) ?? (proxyCert?.includes('PRIVATE KEY') ? proxyCert : undefined);
      if (proxyCert && !proxyKey) throw new UsageError('--proxy-cert has no private key: add --proxy-key FILE (or use the combined client.pem)');
      const { runDoctor } = await import('../doctor/doctor.js');
      const { renderJson, renderText } = await import('../doctor/report.js');
      const report = await runDoctor({
        url,
        proxy,
        cacert: await readPem(flags.cacert, '--cacert'),
        proxyCacert: await readPem(flags.proxyCacert, '--proxy-cacert'),
        proxyCert,
        proxyKey,
        proxyUser: flags.proxyUser,
        timeoutMs,
        env: io.env ?? process.env,
        runtime: flags.runtime as 'all',
      });
      write(flags.json ? renderJson(report) : renderText(report));
      process.exitCode = report.result.exitCode;
    });
}
