#!/usr/bin/env node
// Sends one GET request through an egresskit mTLS proxy with fetch() and prints the status
// and the body (Node.js 20+).
//
//   PROXY_URL=https://localhost:8443 PROXY_CA=certs/ca.crt \
//   CLIENT_CERT=certs/client.crt CLIENT_KEY=certs/client.key \
//   TARGET_URL=https://example.com/ node client.mjs
//
// Environment: PROXY_URL (https://HOST:PORT), PROXY_CA (the proxy's CA; when set, the only CA
// trusted for the proxy hop), CLIENT_CERT + CLIENT_KEY or CLIENT_PEM (certificate, chain and
// key in one file), TARGET_URL (http:// or https://), TARGET_CA (optional extra CA for the
// destination, added to Node's bundled roots).
// Exit status: 0 on a 2xx/3xx answer, 2 on a 4xx/5xx answer, 1 when the request failed.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
// In your project: import { egressProxyAgent } from 'egresskit';
// (this example runs from a clone, against the build in dist/)
import { egressProxyAgent } from '../../dist/src/index.js';

class Failure extends Error {
  constructor(message, hint) {
    super(message);
    this.hint = hint;
  }
}

function env(name, required = false) {
  const value = process.env[name] ?? '';
  if (required && !value) throw new Failure(`${name} is not set`, 'see examples/README.md for the variables');
  return value;
}

function read(name, file) {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Failure(`cannot read ${name} ${file}: ${err.code ?? err.message}`);
  }
}

function clientCredentials() {
  const pem = env('CLIENT_PEM');
  // Node picks the CERTIFICATE blocks for cert and the PRIVATE KEY block for key, so the
  // combined file serves as both.
  if (pem) return { cert: read('CLIENT_PEM', pem), key: read('CLIENT_PEM', pem) };
  const cert = env('CLIENT_CERT');
  const key = env('CLIENT_KEY');
  if (!cert || !key) {
    throw new Failure('no client certificate', 'set CLIENT_CERT and CLIENT_KEY (or CLIENT_PEM): the mTLS proxy requires one');
  }
  return { cert: read('CLIENT_CERT', cert), key: read('CLIENT_KEY', key) };
}

/** undici wraps the socket error in err.cause (sometimes twice); the innermost says why. */
function rootCause(err) {
  let e = err;
  while (e?.cause instanceof Error) e = e.cause;
  return e;
}

function hintFor(cause) {
  const code = cause?.code ?? '';
  const msg = String(cause?.message ?? '');
  if (/CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA/.test(code) && /ALERT/.test(code)) {
    return 'the proxy refused the client certificate: use one issued by the CA it trusts (--client-ca)';
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') {
    return 'the proxy closed the connection: is the client certificate issued by the CA it trusts (--client-ca)?';
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return 'a certificate did not verify: PROXY_CA must be the CA of the proxy, TARGET_CA the CA of a private destination';
  }
  if (code === 'UND_ERR_ABORTED' || /Proxy response/.test(msg)) return 'the proxy refused the destination: its log line says which rule';
  if (code === 'ECONNREFUSED') return 'nothing listens at PROXY_URL: is egresskit running?';
  return undefined;
}

async function main() {
  const target = env('TARGET_URL', true);
  const proxy = env('PROXY_URL', true);
  if (!proxy.startsWith('https://')) throw new Failure(`PROXY_URL must be https://HOST:PORT for an mTLS proxy, got '${proxy}'`);
  const proxyCa = env('PROXY_CA');
  const targetCa = env('TARGET_CA');
  const dispatcher = egressProxyAgent({
    proxy,
    ...(proxyCa ? { proxyCa: read('PROXY_CA', proxyCa) } : {}),
    ...clientCredentials(),
    ...(targetCa ? { targetCa: read('TARGET_CA', targetCa) } : {}),
  });
  // undici (before nodejs/undici#5441) reconnects in a tight loop, forever, when the proxy
  // closes the connection while the CONNECT is being set up, which is how a TLS 1.3 server
  // refuses a client certificate. Stop at the first such failure with a readable error.
  const refused = new AbortController();
  const onConnectError = ({ error }) => {
    if (error?.code !== 'UND_ERR_SOCKET') return;
    refused.abort(
      new Failure(
        `the proxy closed the connection before answering (${error.message})`,
        'the proxy closed the connection: is the client certificate issued by the CA it trusts (--client-ca)? The proxy log says why',
      ),
    );
  };
  subscribe('undici:client:connectError', onConnectError);
  try {
    const signal = AbortSignal.any([refused.signal, AbortSignal.timeout(30_000)]);
    const res = await fetch(target, { dispatcher, signal });
    const body = await res.text();
    process.stdout.write(`${res.status} ${res.statusText}\n${body}\n`);
    return res.status >= 400 ? 2 : 0;
  } finally {
    unsubscribe('undici:client:connectError', onConnectError);
    await dispatcher.close();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    const cause = err instanceof Failure ? err : rootCause(err);
    const detail = cause === err ? err.message : `${err.message}: ${cause.message}${cause.code ? ` (${cause.code})` : ''}`;
    process.stderr.write(`error: ${detail}\n`);
    const hint = err.hint ?? hintFor(cause);
    if (hint) process.stderr.write(`hint: ${hint}\n`);
    process.exitCode = 1;
  },
);
