import { isIP } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { connect, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import type { Check, DoctorContext, Outcome } from '../context.js';
import { subjectLine, topIssuer, verifyErrorText } from '../tls-facts.js';

/** TLS alerts a server sends about the client certificate (OpenSSL's reason codes as Node reports them). */
const CLIENT_CERT_ALERTS: Record<string, { why: string; fix: string }> = {
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: {
    why: 'the proxy requires a client certificate and none was sent',
    fix: '--proxy-cert client.crt --proxy-key client.key  # from the CA the proxy trusts (--client-ca)',
  },
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: {
    why: 'the proxy does not trust the CA that signed the client certificate',
    fix: 'egresskit certs issue --ca DIR --kind client --cn NAME --out DIR  # DIR: the CA the proxy uses as --client-ca',
  },
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: { why: 'the proxy says the client certificate has expired', fix: 'issue a new one: egresskit certs issue --ca DIR --kind client --cn NAME --out DIR' },
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: { why: 'the proxy says the client certificate is revoked', fix: 'issue a new client certificate' },
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: { why: 'the proxy refuses the client certificate (not a client certificate: extendedKeyUsage lacks clientAuth)', fix: 'use a certificate issued with --kind client' },
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: { why: 'the proxy refuses the client certificate (bad certificate)', fix: 'egresskit certs show client.crt  # check issuer, validity and usage' },
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: { why: 'the proxy denies this client certificate', fix: 'use a certificate the proxy accepts' },
};

/** The outcome for an error on the proxy's TLS stream, when it is the proxy refusing our certificate. */
export function clientCertRefusal(err: unknown): Outcome | undefined {
  const code = (err as { code?: string } | null)?.code ?? '';
  const known = CLIENT_CERT_ALERTS[code];
  return known && { status: 'fail', failure: 'refused', detail: `client certificate refused: ${known.why} (${code})`, fix: known.fix };
}

function handshake(ctx: DoctorContext, servername: string | undefined): Promise<TLSSocket> {
  const o = ctx.opts;
  return new Promise((resolve, reject) => {
    // Verification is Node's own, with the given CA; rejectUnauthorized is off only so that an
    // untrusted certificate can be described (issuer, names) before the connection is dropped.
    // Nothing is ever sent over a connection that is not `authorized` (see run below).
    const s = connect({ socket: ctx.tcp!, servername, ca: o.proxyCacert, cert: o.proxyCert, key: o.proxyKey, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => reject(new Error(`no TLS handshake within ${o.timeoutMs} ms`)), o.timeoutMs);
    s.once('secureConnect', () => (clearTimeout(timer), resolve(s)));
    s.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

/**
 * In TLS 1.3 the server judges the client certificate after the client's handshake is done: a
 * refusal arrives as an alert, an acceptance as session tickets. Wait briefly for either.
 */
function clientCertVerdict(s: TLSSocket, ms: number): Promise<'accepted' | 'unknown' | Error> {
  return new Promise((resolve) => {
    const t = setTimeout(() => finish('unknown'), ms);
    // Writing from within the 'session' emit loses the write on Node 20 (the ticket is still
    // being read); the next turn of the loop is safe.
    const onSession = () => setImmediate(() => finish('accepted'));
    const onError = (err: Error) => finish(err);
    const finish = (v: 'accepted' | 'unknown' | Error) => {
      clearTimeout(t);
      s.off('session', onSession);
      s.off('error', onError);
      s.off('close', onClose);
      resolve(v);
    };
    const onClose = () => finish(Object.assign(new Error('closed'), { code: 'CLOSED_AFTER_HANDSHAKE' }));
    s.once('session', onSession);
    s.once('error', onError);
    s.once('close', onClose);
  });
}

/** The proxy hung up without an alert: it refused the certificate, and only its log says exactly why. */
function closedAfterHandshake(ctx: DoctorContext, peer: DetailedPeerCertificate, err: Error): Outcome {
  if (!ctx.opts.proxyCert) return { status: 'fail', failure: 'refused', detail: `the proxy closed the connection after the TLS handshake (${err.message})`, fix: '--proxy-cert client.crt --proxy-key client.key  # if the proxy requires client certificates' };
  let ours = '?';
  try {
    ours = new X509Certificate(ctx.opts.proxyCert).issuer.replace(/\n/g, ', ');
  } catch {
    // an unreadable certificate would have failed the handshake already
  }
  const theirs = Object.entries(peer.issuer ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', ');
  return {
    status: 'fail',
    failure: 'refused',
    detail: `the proxy refused the client certificate (it closed the connection after the handshake); ours is issued by ${ours}, the proxy's own certificate by ${theirs}`,
    fix: 'egresskit certs issue --ca DIR --kind client --cn NAME --out DIR  # DIR: the CA the proxy uses as --client-ca; its tls_error log line says why',
  };
}

export const proxyTlsCheck: Check = {
  id: 'proxy-tls',
  title: () => 'TLS to the proxy',
  async run(ctx) {
    const proxy = ctx.opts.proxy;
    if (!proxy) return { status: 'skip', detail: 'direct: no proxy' };
    if (proxy.protocol !== 'https:') {
      ctx.proxyStream = ctx.tcp;
      return { status: 'skip', detail: 'http:// proxy: no TLS to the proxy' };
    }
    const host = proxy.hostname.replace(/^\[|\]$/g, '');
    let s: TLSSocket;
    try {
      s = await handshake(ctx, isIP(host) ? undefined : host);
    } catch (err) {
      const refusal = clientCertRefusal(err);
      if (refusal) return refusal;
      const code = (err as { code?: string }).code ?? '';
      if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST/.test(code)) {
        return { status: 'fail', failure: 'proxy-unreachable', detail: `the proxy does not speak TLS on this port (${code})`, fix: `--proxy http://${proxy.host}` };
      }
      return { status: 'fail', failure: 'proxy-unreachable', detail: `TLS handshake failed: ${(err as Error).message}`, fix: 'check that this port is the proxy\'s TLS listener (mtls mode)' };
    }
    s.on('error', () => undefined);
    const peer = s.getPeerCertificate(true);
    const subject = subjectLine(peer.subject);
    if (!s.authorized) {
      s.destroy();
      const code = String(s.authorizationError);
      const detail = `the proxy's certificate (${subject}, issued by ${topIssuer(peer)}) is ${verifyErrorText(code)}`;
      if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
        return { status: 'fail', failure: 'trust', detail: `${detail}; it names ${peer.subjectaltname ?? 'no SAN'}`, fix: `use a name the certificate has in --proxy, or reissue it: egresskit certs mtls --san ${host} --out DIR` };
      }
      const fix = ctx.opts.proxyCacert ? '--proxy-cacert must be the CA that signed the proxy\'s certificate (egresskit certs show ca.crt)' : '--proxy-cacert ca.crt  # the CA that signed the proxy\'s certificate';
      return { status: 'fail', failure: 'trust', detail, fix };
    }
    const days = Math.floor((Date.parse(peer.valid_to) - Date.now()) / 86_400_000);
    const verdict = s.getProtocol() === 'TLSv1.3' ? await clientCertVerdict(s, Math.min(1500, ctx.opts.timeoutMs)) : 'accepted';
    if (verdict instanceof Error) {
      s.destroy();
      return clientCertRefusal(verdict) ?? closedAfterHandshake(ctx, peer, verdict);
    }
    let certNote = 'no client certificate sent';
    if (ctx.opts.proxyCert) certNote = verdict === 'accepted' ? 'client certificate accepted' : 'client certificate sent (the proxy has not confirmed it yet)';
    ctx.proxyStream = s;
    const expiry = days < 14 ? `; expires in ${days} day(s)` : '';
    return { status: days < 14 ? 'warn' : 'ok', detail: `${s.getProtocol()}, certificate ${subject} trusted and valid for ${proxy.hostname}${expiry}; ${certNote}` };
  },
};
