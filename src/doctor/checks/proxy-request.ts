import type { Check, DoctorContext, Outcome } from '../context.js';
import { readHead } from '../http-head.js';
import { egresskitFacts, parseProxyStatus } from '../proxy-status.js';
import { redact } from '../redact.js';
import { clientCertRefusal } from './proxy-tls.js';

function targetAuthority(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

/** CONNECT for https targets, an absolute-URI GET for http ones, as curl sends them. */
function proxyRequest(ctx: DoctorContext): string {
  const { url, proxyUser } = ctx.opts;
  const auth = proxyUser ? `Proxy-Authorization: Basic ${Buffer.from(proxyUser).toString('base64')}\r\n` : '';
  if (url.protocol === 'https:') {
    const authority = targetAuthority(url);
    return `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}User-Agent: egresskit-doctor\r\n\r\n`;
  }
  return `GET ${url.href} HTTP/1.1\r\nHost: ${url.host}\r\n${auth}User-Agent: egresskit-doctor\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
}

export const proxyAuthCheck: Check = {
  id: 'proxy-auth',
  title: () => 'proxy authentication',
  async run(ctx) {
    if (!ctx.opts.proxy) return { status: 'skip', detail: 'direct: no proxy' };
    const stream = ctx.proxyStream!;
    stream.write(proxyRequest(ctx));
    try {
      ctx.proxyAnswer = await readHead(stream, ctx.opts.timeoutMs, true);
    } catch (err) {
      const refusal = clientCertRefusal(err);
      if (refusal) return refusal;
      return { status: 'fail', failure: 'refused', detail: `the proxy answered nothing usable: ${(err as Error).message}`, fix: 'check that --proxy names an HTTP proxy (http:// for a plain listener, https:// for mtls)' };
    }
    const head = ctx.proxyAnswer;
    const facts = egresskitFacts(head, parseProxyStatus(head.headers['proxy-status']));
    if (facts) ctx.egresskit = facts;
    if (head.status !== 407) {
      return { status: 'ok', detail: ctx.opts.proxyUser ? `credentials for ${ctx.opts.proxyUser.split(':')[0]} accepted` : 'none required' };
    }
    const scheme = (head.headers['proxy-authenticate'] ?? 'no Proxy-Authenticate header').split(/[\s,]/)[0] ?? '';
    const user = ctx.opts.proxyUser?.split(':')[0];
    const asks = `the proxy asks for ${scheme} authentication (407)`;
    if (!user) return { status: 'fail', failure: 'refused', detail: `${asks} and no credentials were sent`, fix: '--proxy-user USER:PASSWORD  # or https_proxy=http://USER:PASSWORD@host:port' };
    if (!/^basic$/i.test(scheme)) return { status: 'fail', failure: 'refused', detail: `${asks}; doctor (like curl -U without --proxy-${scheme.toLowerCase()}) sends Basic only`, fix: `curl --proxy-${scheme.toLowerCase()} -U USER:PASSWORD ...` };
    return { status: 'fail', failure: 'refused', detail: `${asks}: the credentials for ${user} were rejected${facts?.reason ? ` (${facts.reason})` : ''}`, fix: 'check the user name and password against the proxy\'s htpasswd file (htpasswd -vB FILE USER)' };
  },
};

function refusedOutcome(ctx: DoctorContext): Outcome {
  const head = ctx.proxyAnswer!;
  const ps = parseProxyStatus(head.headers['proxy-status']);
  const facts = ctx.egresskit;
  const firstLine = head.body.split('\n').find((l) => l.trim() !== '')?.trim();
  const reason = facts.reason ?? ps?.details ?? firstLine ?? head.statusText;
  const decoded = ps?.error ? `; Proxy-Status: ${ps.error}${ps.meaning ? ` (${ps.meaning})` : ''}` : '';
  const kind = ps?.kind ?? (head.status === 502 || head.status === 504 ? 'target' : 'refused');
  const fallbackFix = head.status === 403 ? 'ask the proxy\'s owner to allow this destination' : 'check the target from the proxy\'s side (its DNS, its network)';
  return { status: 'fail', failure: kind, detail: `${head.status} ${head.statusText}: ${reason}${decoded}`, fix: facts.hint ?? fallbackFix };
}

export const proxyRequestCheck: Check = {
  id: 'proxy-request',
  title: (ctx) => (ctx.opts.url.protocol === 'https:' ? `CONNECT ${targetAuthority(ctx.opts.url)}` : `forward GET ${redact(ctx.opts.url)}`),
  async run(ctx) {
    if (!ctx.opts.proxy) {
      ctx.tunnel = ctx.tcp;
      return { status: 'skip', detail: 'direct: no proxy' };
    }
    const head = ctx.proxyAnswer!;
    const ps = parseProxyStatus(head.headers['proxy-status']);
    if (ctx.opts.url.protocol === 'https:') {
      if (head.status >= 200 && head.status < 300) {
        ctx.tunnel = ctx.proxyStream;
        return { status: 'ok', detail: `${head.status} ${head.statusText}: tunnel open` };
      }
      return refusedOutcome(ctx);
    }
    // An absolute-URI request: a proxy's own error carries Proxy-Status with an error; anything else is the target's answer.
    if (ps?.error || head.status === 403) return refusedOutcome(ctx);
    ctx.response = { status: head.status, protocol: head.version };
    return { status: 'ok', detail: `forwarded; the target answered ${head.status}` };
  },
};
