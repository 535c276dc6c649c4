import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { BIN } from './paths.js';

export type LogLine = Record<string, unknown>;

/**
 * Proxies run as one process unless a test asks for workers (--workers, or its own env): the
 * default (one per CPU) would make every test's metrics and records cross IPC. Running the
 * suite with EGRESSKIT_WORKERS=2 in the environment exercises every e2e test with workers.
 */
const oneProcess: NodeJS.ProcessEnv = { EGRESSKIT_WORKERS: process.env.EGRESSKIT_WORKERS ?? '1' };

export interface CliProxy {
  child: ChildProcess;
  port: number;
  adminPort: number | undefined;
  url: string;
  logs: LogLine[];
  stderr: () => string;
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `egresskit <args>` and waits until it logs "listening" (or exits, which rejects). */
export async function startCli(args: string[], env: NodeJS.ProcessEnv = {}, prefix: string[] = []): Promise<CliProxy> {
  // `prefix` runs the CLI under another command, e.g. ['ip', 'netns', 'exec', NAME].
  const argv = [...prefix, process.execPath, BIN, ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, ...oneProcess, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      parsed = { raw: line };
    }
    logs.push(parsed);
    for (const w of waiters) {
      if (w.pred(parsed)) {
        waiters.delete(w);
        w.resolve(parsed);
      }
    }
  });
  const exited = once(child, 'exit');
  let stopping = false;
  // A proxy that dies in the middle of a test leaves only ECONNREFUSED behind: say why it died.
  child.once('exit', (code, signal) => {
    if (!stopping && (code !== 0 || signal !== null)) process.stderr.write(`egresskit ${args[0] ?? ''} exited unexpectedly (${String(code ?? signal)}):\n${stderr}\n`);
  });
  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (l: LogLine) => (clearTimeout(t), resolve(l)) };
      const t = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`no matching log line within ${timeoutMs} ms; got:\n${logs.map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${stderr}`));
      }, timeoutMs);
      waiters.add(w);
    });
  };
  const listening = await Promise.race([
    waitForLog((l) => l.event === 'listening', 15_000),
    exited.then(([code]) => {
      throw new Error(`egresskit exited with ${String(code)} before listening: ${stderr}`);
    }),
  ]);
  const port = Number(/:(\d+)$/.exec(String(listening.proxy))![1]);
  const adminPort = listening.admin ? Number(/:(\d+)$/.exec(String(listening.admin))![1]) : undefined;
  return {
    child,
    port,
    adminPort,
    url: String(listening.url),
    logs,
    stderr: () => stderr,
    waitForLog,
    async stop(signal = 'SIGTERM') {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code, sig] = (await exited) as [number | null, NodeJS.Signals | null];
      return { code, signal: sig };
    },
  };
}

/** Runs the CLI to completion (for commands that print and exit). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...oneProcess, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // 'close', not 'exit': 'exit' can come before the last of stdout has been read (a long JSON report cut short).
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}
