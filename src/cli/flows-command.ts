import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UsageError } from './usage-error.js';

interface ExportFlags {
  har: string;
  ui: string;
  token?: string;
  tokenFile?: string;
}

/** `egresskit flows export --har FILE --ui URL`: the HAR of a running inspect proxy, to a file. */
export function registerFlowsCommands(program: Command): void {
  const flows = program.command('flows').description('flows captured by a running inspect proxy');
  flows
    .command('export')
    .description('write every captured flow as HAR 1.2 (open it in browser devtools or a HAR viewer)')
    .requiredOption('--har <file>', 'where to write the HAR')
    .option('--ui <url>', 'the inspect UI address', 'http://127.0.0.1:8081')
    .option('--token <token>', 'UI token (needed when the UI is not on loopback)')
    .option('--token-file <file>', 'read the UI token from this file, e.g. <ca-dir>/ui-token')
    .action(async (flags: ExportFlags) => {
      let token = flags.token;
      if (flags.tokenFile) {
        token = (await readFile(flags.tokenFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read --token-file ${flags.tokenFile}: ${err.code ?? err.message}`);
        })).trim();
      }
      let url: URL;
      try {
        url = new URL('/api/flows.har', flags.ui);
      } catch {
        throw new UsageError(`--ui "${flags.ui}" is not a URL; use e.g. http://127.0.0.1:8081`);
      }
      const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} }).catch((err: Error) => {
        throw new UsageError(`cannot reach the inspect UI at ${flags.ui}: ${(err.cause as Error | undefined)?.message ?? err.message}; is egresskit inspect running (kubectl port-forward svc/egresskit-inspect 8081)?`);
      });
      if (res.status === 401) throw new UsageError('the inspect UI wants a token: pass --token-file <ca-dir>/ui-token (or --token)');
      if (!res.ok) throw new UsageError(`the inspect UI answered ${res.status} for ${url.pathname}`);
      const har = await res.text();
      await writeFile(flags.har, har);
      const entries = (JSON.parse(har) as { log?: { entries?: unknown[] } }).log?.entries?.length ?? 0;
      process.stdout.write(`wrote ${entries} flows to ${flags.har}\n`);
    });
}
