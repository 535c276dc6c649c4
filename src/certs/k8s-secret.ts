import { createPrivateKey, X509Certificate } from 'node:crypto';
import { stringify } from 'yaml';
import { CertsError, invalidInput } from './errors.js';
import { certificateDers } from './pem.js';

export interface K8sTlsSecretOptions {
  name: string;
  namespace?: string;
  /** Leaf first, then any intermediates (what goes in tls.crt). */
  certPem: string;
  keyPem: string;
  /** Stored as ca.crt, the key cert-manager uses, so consumers can mount one Secret for both. */
  caPem?: string;
}

// A DNS-1123 subdomain (names) and label (namespaces), as the API server validates them.
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/**
 * A `kubernetes.io/tls` Secret. Like `kubectl create secret tls`, it refuses a key that does
 * not match the certificate: such a Secret applies cleanly and then fails every handshake.
 */
export function k8sTlsSecretYaml(options: K8sTlsSecretOptions): string {
  const { name, namespace, certPem, keyPem, caPem } = options;
  if (!SUBDOMAIN.test(name)) {
    throw invalidInput(`Secret name '${name}' is not valid in Kubernetes: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`);
  }
  if (namespace !== undefined && !LABEL.test(namespace)) {
    throw invalidInput(`namespace '${namespace}' is not valid in Kubernetes: use at most 63 lower-case letters, digits and '-'`);
  }
  const [leafDer] = certificateDers(certPem, 'the certificate');
  if (caPem !== undefined) certificateDers(caPem, 'the CA certificate');
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new CertsError('NOT_PEM', `the key is not an unencrypted PEM private key (${(err as Error).message}); did you swap --cert and --key?`, { cause: err });
  }
  if (!new X509Certificate(leafDer ?? Buffer.alloc(0)).checkPrivateKey(key)) {
    throw new CertsError('KEY_MISMATCH', 'the private key does not match the (first) certificate; pass the .key file written together with that .crt');
  }

  const data: Record<string, string> = { 'tls.crt': b64(certPem), 'tls.key': b64(keyPem) };
  if (caPem !== undefined) data['ca.crt'] = b64(caPem);
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: namespace === undefined ? { name } : { name, namespace },
    type: 'kubernetes.io/tls',
    data,
  };
  // Long base64 values must stay on one line; folded scalars would still parse, but diff badly.
  return stringify(secret, { lineWidth: 0 });
}
