import { createHash, X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Document } from 'yaml';
import { CertsError } from '../certs/errors.js';
import { parsePemBlocks } from '../certs/pem.js';
import { K8sError } from './errors.js';
import { CA_BUNDLE_KEY } from './inject/proxy-env.js';
import { APP_NAME, DEFAULT_CA_CONFIGMAP } from './names.js';
import { checkNamespace, checkObjectName } from './options.js';

export interface CaConfigMapOptions {
  /** PEM text of the proxy CA (one or more certificates). */
  caPem: string;
  /** Names the CA input in error messages. */
  caSource?: string;
  name?: string;
  namespace?: string;
  /** PEM text of the trust store to extend; Node's bundled Mozilla roots when absent. */
  systemRootsPem?: string;
  systemRootsSource?: string;
}

const EXPLANATION = [
  ' CA bundle for workloads behind egresskit: the system roots plus the proxy CA.',
  ' `egresskit k8s inject --ca-configmap NAME` mounts it and points NODE_EXTRA_CA_CERTS,',
  ' SSL_CERT_FILE, REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE at ca-bundle.crt.',
  ' Why the roots are in it: SSL_CERT_FILE, REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE replace the',
  ' trust store (NODE_EXTRA_CA_CERTS only adds to it), so a bundle with just the proxy CA would',
  ' make every TLS connection that does not go through the proxy fail.',
].join('\n');

/** Every certificate in `pem`, re-encoded canonically; K8sError when there is none or one is broken. */
function certificates(pem: string, source: string): string[] {
  let blocks;
  try {
    blocks = parsePemBlocks(pem).filter((b) => b.label === 'CERTIFICATE');
  } catch (err) {
    if (err instanceof CertsError) throw new K8sError(`${source}: ${err.message}`, { cause: err });
    throw err;
  }
  if (blocks.length === 0) {
    throw new K8sError(`${source} contains no PEM certificate (expected "-----BEGIN CERTIFICATE-----"); a DER file converts with: openssl x509 -inform der -in FILE -out FILE.pem`);
  }
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b.der).toString();
    } catch (err) {
      throw new K8sError(`${source}: certificate ${i + 1} is not a valid X.509 certificate (${(err as Error).message})`, { cause: err });
    }
  });
}

/** The system roots, then the proxy CA; a certificate in both is listed once. */
export function caBundle(caPem: string, systemRootsPem?: string, caSource = '--ca', rootsSource = '--system-roots'): string {
  const roots = systemRootsPem === undefined ? [...rootCertificates] : certificates(systemRootsPem, rootsSource);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const pem of [...roots.map((r) => new X509Certificate(r).toString()), ...certificates(caPem, caSource)]) {
    const fingerprint = createHash('sha256').update(pem).digest('hex');
    if (seen.has(fingerprint)) continue;
    seen.add(fingerprint);
    out.push(pem.endsWith('\n') ? pem : `${pem}\n`);
  }
  return out.join('');
}

export function caConfigMap(options: CaConfigMapOptions): ConfigMap {
  const name = checkObjectName(options.name ?? DEFAULT_CA_CONFIGMAP, '--name');
  if (options.namespace !== undefined) checkNamespace(options.namespace);
  const configMap = new ConfigMap({
    metadata: { name, ...(options.namespace === undefined ? {} : { namespace: options.namespace }), labels: { 'app.kubernetes.io/part-of': APP_NAME } },
    data: { [CA_BUNDLE_KEY]: caBundle(options.caPem, options.systemRootsPem, options.caSource, options.systemRootsSource) },
  });
  configMap.validate();
  return configMap;
}

export function caConfigMapYaml(options: CaConfigMapOptions): string {
  const doc = new Document(caConfigMap(options).toJSON());
  doc.commentBefore = EXPLANATION;
  return doc.toString({ lineWidth: 0 });
}
