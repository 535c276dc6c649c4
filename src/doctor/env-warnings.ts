import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { Env, RuntimeChoice } from './env-proxy.js';
import { redact } from './redact.js';

export interface EnvWarning {
  warning: string;
  fix: string;
}

const PAIRS = ['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'];

function pemBlocks(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => m[0].replace(/\s+/g, ''));
}

const PUBLIC_ROOTS = new Set(rootCertificates.map((p) => p.replace(/\s+/g, '')));

/** Variables that replace a runtime's trust store instead of adding to it. */
const STORE_REPLACING = [
  { name: 'SSL_CERT_FILE', who: 'OpenSSL-based clients (curl, Python ssl, Go on Linux)' },
  { name: 'REQUESTS_CA_BUNDLE', who: 'Python requests' },
  { name: 'CURL_CA_BUNDLE', who: 'curl and Python requests' },
];

/** What in the environment makes runtimes disagree or fail, each with the line that fixes it. */
export function envWarnings(env: Env, choices: RuntimeChoice[], opts: { interception: boolean; readFile?: (p: string) => string } = { interception: false }): EnvWarning[] {
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const out: EnvWarning[] = [];
  for (const lower of PAIRS) {
    const upper = lower.toUpperCase();
    const a = env[lower];
    const b = env[upper];
    if (a && b && a.trim() !== b.trim()) {
      // The values are proxy URLs: printed redacted, as everywhere in the report (the fix says
      // "the same value" for the password rather than repeating it).
      out.push({ warning: `${lower}=${redact(a)} and ${upper}=${redact(b)} differ: runtimes that prefer one case disagree with those that prefer the other`, fix: `export ${upper}="$${lower}"  # or unset one of them` });
    }
  }
  for (const c of choices) {
    if (c.ignored.length) {
      out.push({ warning: `${c.label} ignores ${c.ignored.join(', ')} in NO_PROXY (it does not read CIDR ranges here)`, fix: 'list the hosts by name (or their domain suffix) in NO_PROXY as well' });
    }
  }
  const k8sHost = env.KUBERNETES_SERVICE_HOST;
  if (k8sHost) {
    const list = `${env.no_proxy ?? ''},${env.NO_PROXY ?? ''}`.toLowerCase().split(/[\s,]+/).filter(Boolean);
    const missing = ['.svc', '.cluster.local'].filter((d) => !list.some((e) => e === d || e === d.slice(1) || e === `*${d}`));
    if (isIP(k8sHost) && !list.some((e) => e === k8sHost || e.includes('/'))) missing.push(`${k8sHost} (the API server's Service address, or the Service CIDR)`);
    if (missing.length) {
      out.push({
        warning: `running in Kubernetes but NO_PROXY lacks ${missing.join(', ')}: in-cluster calls would go through the proxy`,
        fix: 'egresskit k8s inject --proxy URL -f app.yaml  # sets NO_PROXY with .svc, .cluster.local and friends',
      });
    }
  }
  for (const v of STORE_REPLACING) {
    const path = env[v.name];
    if (!path) continue;
    let blocks: string[];
    try {
      blocks = pemBlocks(read(path));
    } catch {
      out.push({ warning: `${v.name}=${path} cannot be read: ${v.who} will trust nothing`, fix: `unset ${v.name}, or point it at a readable bundle` });
      continue;
    }
    if (!blocks.some((b) => PUBLIC_ROOTS.has(b))) {
      out.push({
        warning: `${v.name}=${path} replaces the trust store of ${v.who}, and its ${blocks.length} certificate(s) include no public root: public sites will fail`,
        fix: 'egresskit k8s ca-configmap --ca ca.crt  # a bundle of the public roots plus your CA (k8s inject --ca-configmap mounts it)',
      });
    }
  }
  if (opts.interception && !env.NODE_EXTRA_CA_CERTS) {
    out.push({ warning: 'the proxy intercepts TLS and NODE_EXTRA_CA_CERTS is not set: Node clients will not trust it', fix: 'export NODE_EXTRA_CA_CERTS=/path/to/interception-ca.crt' });
  }
  return out;
}
