import { useEffect, useState } from 'preact/hooks';
import { getJson, type Meta } from './api';
import { copyText } from './detail/copy';

interface Recipe {
  id: string;
  title: string;
  note?: string;
  code: string;
}

function recipes(proxy: string): Recipe[] {
  return [
    {
      id: 'debian',
      title: 'Debian / Ubuntu (image or host)',
      note: 'The file must end in .crt. In a Dockerfile, COPY it in and RUN the same two lines.',
      code: 'apt-get install -y ca-certificates\ncp egresskit-ca.crt /usr/local/share/ca-certificates/egresskit-ca.crt\nupdate-ca-certificates',
    },
    {
      id: 'alpine',
      title: 'Alpine',
      code: 'apk add --no-cache ca-certificates\ncp egresskit-ca.crt /usr/local/share/ca-certificates/egresskit-ca.crt\nupdate-ca-certificates',
    },
    {
      id: 'rhel',
      title: 'RHEL / Fedora / UBI / Amazon Linux',
      code: 'cp egresskit-ca.crt /etc/pki/ca-trust/source/anchors/egresskit-ca.crt\nupdate-ca-trust',
    },
    {
      id: 'node',
      title: 'Node.js',
      note: 'Adds to Node’s built-in roots (it does not replace them). Read once at start.',
      code: `export NODE_EXTRA_CA_CERTS=$PWD/egresskit-ca.crt\nexport HTTPS_PROXY=${proxy} HTTP_PROXY=${proxy}`,
    },
    {
      id: 'python',
      title: 'Python (requests, httpx, urllib, pip)',
      note: 'REQUESTS_CA_BUNDLE and SSL_CERT_FILE replace the trust store instead of adding to it: point them at a bundle of the usual roots plus this CA, or every other HTTPS site fails.',
      code:
        'cat "$(python3 -m certifi 2>/dev/null || echo /etc/ssl/certs/ca-certificates.crt)" egresskit-ca.crt > ca-bundle.pem\n' +
        `export REQUESTS_CA_BUNDLE=$PWD/ca-bundle.pem SSL_CERT_FILE=$PWD/ca-bundle.pem\nexport HTTPS_PROXY=${proxy} HTTP_PROXY=${proxy}`,
    },
    {
      id: 'java',
      title: 'Java (keytool)',
      note: 'Java 9+; the default store password is changeit. Or keep a separate store and pass -Djavax.net.ssl.trustStore=… (that one replaces the default). Java ignores HTTPS_PROXY: set https.proxyHost/https.proxyPort.',
      code: 'keytool -importcert -noprompt -cacerts -storepass changeit -alias egresskit -file egresskit-ca.crt',
    },
    {
      id: 'go',
      title: 'Go',
      note: 'Go reads the system store (install the CA as for your distro above). SSL_CERT_FILE replaces the store: give it a bundle of the usual roots plus this CA.',
      code: `cat /etc/ssl/certs/ca-certificates.crt egresskit-ca.crt > ca-bundle.pem\nexport SSL_CERT_FILE=$PWD/ca-bundle.pem HTTPS_PROXY=${proxy}`,
    },
    {
      id: 'curl',
      title: 'curl',
      code: `curl --proxy ${proxy} --cacert egresskit-ca.crt https://example.com/`,
    },
    {
      id: 'k8s',
      title: 'Kubernetes: ship it to a namespace',
      note: 'ca-configmap writes a ConfigMap whose ca-bundle.crt is the usual roots plus this CA; inject mounts it into every container of the workloads and points NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE at it, and sets HTTP(S)_PROXY and NO_PROXY.',
      code:
        'egresskit k8s ca-configmap --ca egresskit-ca.crt --namespace my-app | kubectl apply -f -\n' +
        'kubectl get deployment my-app -n my-app -o yaml \\\n' +
        '  | egresskit k8s inject --proxy http://egresskit-inspect.egresskit.svc:8080 --ca-configmap egresskit-ca-bundle \\\n' +
        '  | kubectl apply -f -',
    },
  ];
}

function Recipe({ r }: { r: Recipe }) {
  const [copied, setCopied] = useState(false);
  return (
    <section class="recipe" id={r.id}>
      <h3>{r.title}</h3>
      {r.note && <p class="muted">{r.note}</p>}
      <div class="code">
        <pre>{r.code}</pre>
        <button type="button" class="ghost" onClick={async () => setCopied(await copyText(r.code))}>
          {copied ? 'copied' : 'copy'}
        </button>
      </div>
    </section>
  );
}

/** Trust-the-CA: the certificate, its fingerprint, and how each runtime and distro is told to trust it. */
export function CaPage() {
  const [meta, setMeta] = useState<Meta | undefined>();
  useEffect(() => {
    getJson<Meta>('api/meta').then(setMeta, () => undefined);
  }, []);
  const proxy = meta?.proxy ?? 'http://127.0.0.1:8080';
  return (
    <div class="ca-page">
      <header class="top">
        <a class="brand" href="./">egresskit</a>
        <span>Trust the interception CA</span>
        <a class="button" href="./">← flows</a>
      </header>
      <main>
        <p>
          egresskit decrypts HTTPS with certificates it mints from its own CA. A client trusts them once this CA is in its trust store. Give the CA only to workloads whose traffic you mean to inspect.
        </p>
        <p>
          <a class="button primary" href="ca.crt" download="egresskit-ca.crt">
            Download egresskit-ca.crt
          </a>
        </p>
        {meta?.caFingerprint && (
          <p>
            SHA-256 fingerprint: <code class="fp">{meta.caFingerprint}</code>
            <br />
            <span class="muted">Compare with: openssl x509 -in egresskit-ca.crt -noout -fingerprint -sha256</span>
          </p>
        )}
        <p class="muted">
          Proxy for clients: <code>{proxy}</code>
          {meta ? ` · ${meta.mode} mode · egresskit ${meta.version}` : ''}
        </p>
        <nav class="toc">
          {recipes(proxy).map((r) => (
            <a key={r.id} href={`#${r.id}`}>
              {r.title.split(' (')[0]}
            </a>
          ))}
        </nav>
        {recipes(proxy).map((r) => (
          <Recipe key={r.id} r={r} />
        ))}
      </main>
    </div>
  );
}
