import { isIP } from 'node:net';
import { connect, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import type { Check, DoctorContext, Outcome } from '../context.js';
import { readHead } from '../http-head.js';
import { egresskitFacts, parseProxyStatus } from '../proxy-status.js';
import { inspectionProduct, signedByOneOf, subjectLine, topIssuer, verifyErrorText } from '../tls-facts.js';

function handshake(ctx: DoctorContext): Promise<TLSSocket> {
  const { url, cacert, timeoutMs } = ctx.opts;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    // As for the proxy: Node verifies (against --cacert, as curl's, or its default store) and
    // the connection is dropped unless `authorized`; the certificate is only read, to say who issued it.
    const s = connect({ socket: ctx.tunnel!, servername: isIP(host) ? undefined : host, ca: cacert, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => reject(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    s.once('secureConnect', () => (clearTimeout(timer), resolve(s)));
    s.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

function untrusted(ctx: DoctorContext, peer: DetailedPeerCertificate, code: string): Outcome {
  const issuer = topIssuer(peer);
  const product = inspectionProduct(issuer);
  const what = `the target's certificate (${subjectLine(peer.subject)}, issued by ${issuer}) is ${verifyErrorText(code)}`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return { status: 'fail', failure: 'trust', detail: `${what}; it names ${peer.subjectaltname ?? 'no SAN'}`, fix: 'use a host name the certificate names in the URL' };
  }
  const bySystem = signedByOneOf(peer, 'public');
  const byCacert = ctx.opts.cacert !== undefined && signedByOneOf(peer, ctx.opts.cacert);
  const stores = `trusted by --cacert: ${ctx.opts.cacert === undefined ? 'not given' : byCacert ? 'yes' : 'no'}; by the public roots: ${bySystem ? 'yes' : 'no'}`;
  if (product) {
    ctx.interception = { issuer, egresskit: product === 'egresskit' };
    const where = product === 'egresskit' ? "the proxy's --ca-dir/ca.crt (default ~/.egresskit/ca.crt; its UI serves /ca.crt)" : `the ${product} root CA from your IT team`;
    return {
      status: 'fail',
      failure: 'trust',
      detail: `TLS is intercepted by ${product} (issuer ${issuer}) and its CA is not trusted here (${stores})`,
      fix: `--cacert CA.crt  # ${where}; for workloads: NODE_EXTRA_CA_CERTS=CA.crt, or egresskit k8s inject --ca-configmap`,
    };
  }
  if (bySystem && ctx.opts.cacert !== undefined) {
    return { status: 'fail', failure: 'trust', detail: `${what}: --cacert replaces the public roots, and they are what trust it (${stores})`, fix: 'drop --cacert, or give a bundle with the public roots plus your CA' };
  }
  return { status: 'fail', failure: 'trust', detail: `${what} (${stores})`, fix: '--cacert CA.crt  # the CA that signed the target\'s certificate' };
}

export const targetTlsCheck: Check = {
  id: 'target-tls',
  title: (ctx) => `TLS to ${ctx.opts.url.hostname}${ctx.opts.proxy ? ' through the tunnel' : ''}`,
  async run(ctx) {
    if (ctx.opts.url.protocol !== 'https:') return { status: 'skip', detail: 'http:// target: no TLS' };
    let s: TLSSocket;
    try {
      s = await handshake(ctx);
    } catch (err) {
      const code = (err as { code?: string }).code;
      return { status: 'fail', failure: 'target', detail: `TLS handshake with the target failed: ${(err as Error).message}${code ? ` (${code})` : ''}`, fix: 'check that the target speaks TLS on this port' };
    }
    s.on('error', () => undefined);
    const peer = s.getPeerCertificate(true);
    if (!s.authorized) {
      s.destroy();
      return untrusted(ctx, peer, String(s.authorizationError));
    }
    ctx.targetTls = s;
    const issuer = topIssuer(peer);
    const product = inspectionProduct(issuer);
    if (product) {
      ctx.interception = { issuer, egresskit: product === 'egresskit' };
      if (product === 'egresskit' && !ctx.egresskit.seenBy) ctx.egresskit = { ...ctx.egresskit, seenBy: `interception CA ${issuer}` };
      return { status: 'ok', detail: `${s.getProtocol()}; intercepted by ${product} (issuer ${issuer}), whose CA is trusted here` };
    }
    return { status: 'ok', detail: `${s.getProtocol()}, certificate ${subjectLine(peer.subject)} issued by ${issuer}, trusted` };
  },
};

export const httpCheck: Check = {
  id: 'http',
  title: () => 'HTTP response',
  async run(ctx) {
    const url = ctx.opts.url;
    if (ctx.response) return httpOutcome(ctx.response.status, ctx.response.protocol, ctx);
    const stream = ctx.targetTls ?? ctx.tunnel!;
    stream.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: egresskit-doctor\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
    try {
      const head = await readHead(stream, ctx.opts.timeoutMs, false);
      stream.destroy();
      // Inside interception egresskit is the one answering; its own refusals (421, 502) carry Proxy-Status.
      const ps = parseProxyStatus(head.headers['proxy-status']);
      const facts = egresskitFacts(head, ps);
      if (facts && !ctx.egresskit.seenBy) ctx.egresskit = facts;
      if (ps?.error) return { status: 'fail', failure: ps.kind ?? 'target', detail: `${head.status} from the proxy inside the tunnel: ${ps.details ?? ps.meaning ?? ps.error}`, fix: facts?.hint ?? 'see the proxy\'s log for this request' };
      const alpn = ctx.targetTls?.alpnProtocol;
      ctx.response = { status: head.status, protocol: `${head.version}${alpn ? ` (ALPN ${alpn})` : ''}` };
      return httpOutcome(head.status, ctx.response.protocol, ctx);
    } catch (err) {
      return { status: 'fail', failure: 'target', detail: `no HTTP response: ${(err as Error).message}`, fix: 'the target accepted the connection but did not answer HTTP; check its logs' };
    }
  },
};

function httpOutcome(status: number, protocol: string, ctx: DoctorContext): Outcome {
  ctx.response = { status, protocol };
  return { status: status >= 500 ? 'warn' : 'ok', detail: `${status}, ${protocol}${status >= 400 ? ' (the path works; the target itself answered with an error)' : ''}` };
}
