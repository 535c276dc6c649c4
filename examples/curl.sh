#!/usr/bin/env bash
# curl through an egresskit mTLS proxy. Each command prints the response body, then the status.
#
#   PROXY_URL=https://localhost:8443 PROXY_CA=certs/ca.crt \
#   CLIENT_CERT=certs/client.crt CLIENT_KEY=certs/client.key CLIENT_PEM=certs/client.pem \
#   TARGET_URL=https://example.com/ HTTP_TARGET_URL=http://example.com/ bash examples/curl.sh
#
# TARGET_CA (optional) is an extra CA for the destination, added to the system roots.
# CLIENT_PEM defaults to client.pem next to CLIENT_CERT; HTTP_TARGET_URL is optional.
# Exits non-zero if a request that should work fails, or if the request without a client
# certificate gets through.
set -euo pipefail

: "${PROXY_URL:?set PROXY_URL, e.g. https://localhost:8443}"
: "${PROXY_CA:?set PROXY_CA to the CA that signed the proxy certificate (certs/ca.crt)}"
: "${CLIENT_CERT:?set CLIENT_CERT (certs/client.crt)}"
: "${CLIENT_KEY:?set CLIENT_KEY (certs/client.key)}"
: "${TARGET_URL:?set TARGET_URL, e.g. https://example.com/}"
CLIENT_PEM="${CLIENT_PEM:-$(dirname "$CLIENT_CERT")/client.pem}"

# The proxy hop: --proxy-cacert (the proxy's CA), --proxy-cert/--proxy-key (who we are).
proxy_opts=(--proxy "$PROXY_URL" --proxy-cacert "$PROXY_CA")
show=(-sS --max-time 30 --write-out '\nstatus: %{http_code}\n')

# The destination hop: curl's --cacert REPLACES the default trust store, so an extra CA is
# added by handing curl a bundle of the system roots plus TARGET_CA.
target_opts=()
if [ -n "${TARGET_CA:-}" ]; then
  bundle=$(mktemp)
  trap 'rm -f "$bundle"' EXIT
  for roots in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
    if [ -r "$roots" ]; then cat "$roots" >>"$bundle"; break; fi
  done
  cat "$TARGET_CA" >>"$bundle"
  target_opts=(--cacert "$bundle")
fi

echo "# 1. client certificate and key as two files"
curl "${show[@]}" "${proxy_opts[@]}" --proxy-cert "$CLIENT_CERT" --proxy-key "$CLIENT_KEY" \
  "${target_opts[@]}" "$TARGET_URL"

echo "# 2. the combined client.pem (certificate, CA and key in one file)"
curl "${show[@]}" "${proxy_opts[@]}" --proxy-cert "$CLIENT_PEM" "${target_opts[@]}" "$TARGET_URL"

if [ -n "${HTTP_TARGET_URL:-}" ]; then
  echo "# 3. a plain http:// destination: an absolute-URI request inside the TLS connection"
  curl "${show[@]}" "${proxy_opts[@]}" --proxy-cert "$CLIENT_PEM" "$HTTP_TARGET_URL"
fi

echo "# 4. no client certificate: the proxy must refuse the TLS handshake"
if curl -sS --max-time 30 -o /dev/null "${proxy_opts[@]}" "${target_opts[@]}" "$TARGET_URL"; then
  echo "FAIL: the proxy accepted a client without a certificate" >&2
  exit 1
fi
echo "refused, as it should be"
