import { execFile } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a real client (curl, python3, go) with an argument array, never through a shell. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    // Proxy variables from the machine must not leak into a test's client.
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(https?|all|no)_proxy$/i.test(k)));
    execFile(cmd, args, { env: { ...clean, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** curl with -sS; the status code is printed last on its own line. */
export async function curl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ExecResult & { status: number; body: string }> {
  const r = await run('curl', ['-sS', '--max-time', '15', '-w', '\n%{http_code}', ...args], env);
  const idx = r.stdout.lastIndexOf('\n');
  return { ...r, status: Number(r.stdout.slice(idx + 1)), body: r.stdout.slice(0, idx) };
}
