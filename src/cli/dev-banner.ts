import { relative } from 'node:path';
import type { ProxyHandle } from '../server/start-proxy.js';
import { formatHostPort } from '../model/destination.js';
import { isLoopbackHost } from '../ui/ui-access.js';
import type { DevCerts } from './dev-certs.js';
import { isWildcard } from './dev-certs.js';

export interface BannerInput {
  forward: ProxyHandle;
  inspect: ProxyHandle;
  mtls: ProxyHandle;
  certs: DevCerts;
  host: string;
  allowPrivate: boolean;
}

/** A path as short as it can be pasted from here: relative under the working directory. */
function short(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

function quote(path: string): string {
  return /^[\w./~-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

function reachable(a: { host: string; port: number }): string {
  return formatHostPort(isWildcard(a.host) ? '127.0.0.1' : a.host, a.port);
}

/**
 * What `egresskit dev` prints once all three proxies listen: commands to paste, nothing to
 * look up. It goes to stderr, so stdout stays JSON lines (`egresskit dev | jq` works).
 */
export function devBanner(b: BannerInput): string {
  const p = (path: string) => quote(short(path));
  const { certs } = b;
  const ui = b.inspect.ui ? `http://${reachable(b.inspect.ui)}/` : undefined;
  const admin = (h: ProxyHandle) => (h.admin ? `http://${reachable(h.admin)}/metrics` : 'off');
  const mtlsProxy = `--proxy ${b.mtls.url} --proxy-cacert ${p(certs.mtlsCa)} --proxy-cert ${p(certs.clientCert)} --proxy-key ${p(certs.clientKey)}`;
  const lines = [
    '',
    `egresskit dev: forward, inspect and mtls are running (certificates ${certs.created ? 'created' : 'reused'} in ${p(certs.dir)})`,
    '',
    `  forward  ${b.forward.url}    admin ${admin(b.forward)}`,
    `  inspect  ${b.inspect.url}    admin ${admin(b.inspect)}    UI ${ui ?? 'off'}`,
    `  mtls     ${b.mtls.url}   admin ${admin(b.mtls)}`,
    '',
    'Try each mode:',
    `  curl -x ${b.forward.url} https://example.com`,
    `  curl -x ${b.inspect.url} --cacert ${p(certs.inspectCa)} https://example.com`,
    `  curl ${mtlsProxy} https://example.com`,
    ...(ui ? [`  then open ${ui} to see the inspected request`] : []),
    '',
    'Diagnose a request:',
    `  egresskit doctor https://example.com --proxy ${b.forward.url}`,
    `  egresskit doctor https://example.com ${mtlsProxy}`,
    '',
    'Send a shell through inspect (its requests show up in the UI):',
    `  export https_proxy=${b.inspect.url} http_proxy=${b.inspect.url} HTTPS_PROXY=${b.inspect.url} HTTP_PROXY=${b.inspect.url}`,
    `  export NODE_EXTRA_CA_CERTS=${quote(certs.inspectCa)} NODE_USE_ENV_PROXY=1`,
    `  export SSL_CERT_FILE=${quote(certs.inspectBundle)} REQUESTS_CA_BUNDLE=${quote(certs.inspectBundle)} CURL_CA_BUNDLE=${quote(certs.inspectBundle)}`,
    '  (SSL_CERT_FILE and REQUESTS_CA_BUNDLE replace the trust store, so they name a bundle of the public roots plus the inspect CA;',
    `   NODE_USE_ENV_PROXY=1 makes Node 24+ use the proxy variables. Through forward instead: export https_proxy=${b.forward.url})`,
    '',
    'Certificates:',
    `  inspect CA         ${certs.inspectCa}`,
    `  mtls CA            ${certs.mtlsCa}`,
    `  mtls client        ${certs.clientCert}  ${certs.clientKey}`,
    '',
    b.allowPrivate
      ? 'Private destinations (localhost, 10.0.0.0/8, 192.168.0.0/16, ...) are allowed: --allow-private is on.'
      : 'Private destinations (localhost, 10.0.0.0/8, 192.168.0.0/16, ...) are refused, as in production. To reach local services: npm start -- --allow-private (or egresskit dev --allow-private; --allow CIDR for one range).',
    ...(isLoopbackHost(b.host) ? [] : [`The UI is not on loopback, so it asks for the token in ${p(certs.inspectDir)}/ui-token.`]),
    'Ctrl-C stops all three.',
    '',
  ];
  return lines.join('\n');
}
