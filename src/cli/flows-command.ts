import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseFilter } from '../flows/filter/parse.js';
import { UsageError } from './usage-error.js';

/** The filter with a caret under the offending character, as a terminal shows it. */
function filterError(filter: string, error: string, position: number): string {
  return `--filter: ${error}\n  ${filter}\n  ${' '.repeat(position)}^`;
}

interface ExportFlags {
  har: string;
  ui: string;
  token?: string;
  tokenFile?: string;
  filter?: string;
}

/** `egresskit flows export --har FILE --ui URL`: the HAR of a running inspect proxy, to a file. */
export function registerFlowsCommands(program: Command): void {
  const flows = program.command('flows').description('flows captured by a running inspect proxy');
  flows
    .command('export')
    .description('write the captured flows (all, or those matching --filter) as HAR 1.2 (open it in browser devtools or a HAR viewer)')
    .requiredOption('--har <file>', 'where to write the HAR')
    .option('--ui <url>', 'the inspect UI address, with its base path if it has one (http://host:8081/egress/)', 'http://127.0.0.1:8081')
    .option('--filter <expr>', 'only the flows matching this filter, e.g. "~d api.example.com & ~c 5xx" (the UI\'s filter language)')
    .option('--token <token>', 'UI token (needed when the UI is not on loopback)')
    .option('--token-file <file>', 'read the UI token from this file, e.g. <ca-dir>/ui-token')
    .action(async (flags: ExportFlags) => {
      let token = flags.token;
      if (flags.tokenFile) {
        token = (await readFile(flags.tokenFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read --token-file ${flags.tokenFile}: ${err.code ?? err.message}`);
        })).trim();
      }
      if (flags.filter !== undefined) {
        // Checked here too, so a typo is shown with its caret before anything is fetched.
        const parsed = parseFilter(flags.filter);
        if (!parsed.ok) throw new UsageError(filterError(flags.filter, parsed.error, parsed.position));
      }
      let url: URL;
      try {
        // Relative to the UI's address, so a base path (--ui http://host/egress/) is kept.
        const ui = new URL(flags.ui);
        if (!ui.pathname.endsWith('/')) ui.pathname += '/';
        url = new URL('api/flows.har', ui);
      } catch {
        throw new UsageError(`--ui "${flags.ui}" is not a URL; use e.g. http://127.0.0.1:8081`);
      }
      if (flags.filter !== undefined) url.searchParams.set('filter', flags.filter);
      const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} }).catch((err: Error) => {
        throw new UsageError(`cannot reach the inspect UI at ${flags.ui}: ${(err.cause as Error | undefined)?.message ?? err.message}; is egresskit inspect running (kubectl port-forward svc/egresskit-inspect 8081)?`);
      });
      if (res.status === 401) throw new UsageError('the inspect UI wants a token: pass --token-file <ca-dir>/ui-token (or --token)');
      if (res.status === 400 && flags.filter !== undefined) {
        const bad = (await res.json().catch(() => ({}))) as { error?: string; position?: number };
        throw new UsageError(filterError(flags.filter, bad.error ?? 'refused by the inspect UI', bad.position ?? 0));
      }
      if (!res.ok) throw new UsageError(`the inspect UI answered ${res.status} for ${url.pathname}${res.status === 404 ? ' (does it run under a base path? add it to --ui)' : ''}`);
      const har = await res.text();
      await writeFile(flags.har, har);
      const entries = (JSON.parse(har) as { log?: { entries?: unknown[] } }).log?.entries?.length ?? 0;
      process.stdout.write(`wrote ${entries} flows${flags.filter !== undefined ? ` matching ${flags.filter}` : ''} to ${flags.har}\n`);
    });
}
