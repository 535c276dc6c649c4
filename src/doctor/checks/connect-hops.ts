import { lookup } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';
import type { Check } from '../context.js';

const unreachableFix = (host: string, port: number) =>
  `check the proxy is running and listening on ${host}:${port} (kubectl get endpoints -A | grep egresskit), or pass the right one with --proxy URL`;

export const resolveCheck: Check = {
  id: 'resolve',
  title: (ctx) => `resolve ${ctx.opts.proxy ? 'the proxy' : 'the target (direct)'} ${ctx.hop.host}`,
  async run(ctx) {
    const host = ctx.hop.host;
    if (isIP(host)) {
      ctx.addresses = [host];
      return { status: 'ok', detail: `${host} is an address; nothing to resolve` };
    }
    try {
      const found = await lookup(host, { all: true });
      ctx.addresses = found.map((a) => a.address);
      return { status: 'ok', detail: ctx.addresses.join(', ') };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      return ctx.opts.proxy
        ? { status: 'fail', failure: 'proxy-unreachable', detail: `${host} does not resolve here (${code})`, fix: `check the host in the proxy URL, or use the Service name the cluster resolves (e.g. --proxy http://egresskit-forward.egresskit.svc:8888)` }
        : { status: 'fail', failure: 'target', detail: `${host} does not resolve here (${code})`, fix: 'check the spelling of the host and this machine\'s DNS (/etc/resolv.conf)' };
    }
  },
};

function dial(address: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: address, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export const tcpCheck: Check = {
  id: 'tcp',
  title: (ctx) => `TCP connect to ${ctx.hop.host}:${ctx.hop.port}`,
  async run(ctx) {
    const errors: string[] = [];
    for (const address of ctx.addresses) {
      try {
        ctx.tcp = await dial(address, ctx.hop.port, ctx.opts.timeoutMs);
        ctx.tcp.on('error', () => undefined);
        return { status: errors.length ? 'warn' : 'ok', detail: `connected to ${address}:${ctx.hop.port}${errors.length ? ` after ${errors.join(', ')}` : ''}` };
      } catch (err) {
        errors.push(`${address}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    const refused = errors.some((e) => e.endsWith('ECONNREFUSED'));
    const why = refused ? 'nothing listens there (connection refused)' : 'no answer (a firewall or NetworkPolicy may drop the traffic)';
    return ctx.opts.proxy
      ? { status: 'fail', failure: 'proxy-unreachable', detail: `${why}: ${errors.join('; ')}`, fix: unreachableFix(ctx.hop.host, ctx.hop.port) }
      : { status: 'fail', failure: 'target', detail: `${why}: ${errors.join('; ')}`, fix: 'check the port and that the service is up' };
  },
};
