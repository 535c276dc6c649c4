import { rootCertificates } from 'node:tls';
import { ProxyAgent } from 'undici';

export interface EgressProxyAgentOptions {
  /** http://host:port (forward) or https://host:port (mtls). Credentials may be in the URL. */
  proxy: string;
  /** CA that signed the proxy's own certificate (https:// proxies). */
  proxyCa?: string | Buffer;
  /** Client certificate and key for an mtls proxy (PEM). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /**
   * Extra CA for destinations (an inspecting proxy's CA, or a private upstream's). Added to
   * Node's bundled roots rather than replacing them, so public sites still verify.
   */
  targetCa?: string | Buffer;
}

/**
 * An undici dispatcher that sends every request through egresskit, for fetch() and
 * undici.request(): `fetch(url, { dispatcher: egressProxyAgent({...}) })`.
 */
export function egressProxyAgent(options: EgressProxyAgentOptions): ProxyAgent {
  const url = new URL(options.proxy);
  const proxyTls = url.protocol === 'https:' ? { ca: options.proxyCa, cert: options.cert, key: options.key } : undefined;
  const requestTls = options.targetCa ? { ca: [...rootCertificates, options.targetCa.toString()] } : undefined;
  return new ProxyAgent({
    uri: url.href,
    ...(url.username ? { token: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` } : {}),
    ...(proxyTls ? { proxyTls } : {}),
    ...(requestTls ? { requestTls } : {}),
  });
}
