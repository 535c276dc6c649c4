/** Readable reasons for failed handshakes, by OpenSSL error code (never by message text). */
const REASONS: Record<string, string> = {
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'the client sent no certificate (mTLS requires one)',
  ERR_SSL_NO_CERTIFICATE_RETURNED: 'the client sent no certificate (mTLS requires one)',
  ERR_SSL_CERTIFICATE_VERIFY_FAILED: 'the client certificate did not verify against the client CA',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the client does not trust the proxy\'s certificate (unknown CA)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the client rejected the proxy\'s certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'a certificate in the handshake has expired',
  ERR_SSL_HTTP_REQUEST: 'the client sent plain HTTP to the TLS port (use an https:// proxy URL)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the client did not speak TLS (plain HTTP to the TLS port?)',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'the client offered only TLS versions below 1.2',
  ERR_SSL_NO_SHARED_CIPHER: 'no cipher in common with the client',
  ERR_SSL_UNSUPPORTED_CERTIFICATE: 'the client certificate is not usable for client authentication (check extendedKeyUsage)',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'the handshake failed (no common protocol or cipher)',
  ECONNRESET: 'the client closed the connection during the handshake',
};

/** OpenSSL verify results for a client certificate (X509_V_ERR_* names as Node reports them). */
const VERIFY_REASONS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the client certificate is not signed by the client CA',
  UNABLE_TO_GET_ISSUER_CERT: 'the client certificate is not signed by the client CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the client certificate is not signed by the client CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'the client certificate chains to a CA the proxy does not trust',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the client certificate is self-signed',
  CERT_SIGNATURE_FAILURE: 'the client certificate signature does not verify',
  CERT_HAS_EXPIRED: 'the client certificate has expired',
  CERT_NOT_YET_VALID: 'the client certificate is not valid yet (check the clocks)',
  CERT_REVOKED: 'the client certificate is revoked (listed in the CRL)',
  UNABLE_TO_GET_CRL: 'no CRL was found for the client certificate\'s issuer',
  CRL_HAS_EXPIRED: 'the CRL has expired; publish a new one',
  INVALID_PURPOSE: 'the certificate is not for client authentication (its extendedKeyUsage lacks clientAuth)',
};

/**
 * Why a handshake failed. Node reports a rejected client certificate only as a reset, with the
 * verify result left on the socket, so that is consulted first.
 */
export function tlsFailureReason(err: NodeJS.ErrnoException & { reason?: string }, authorizationError?: string | Error | null): string {
  const verify = typeof authorizationError === 'string' ? authorizationError : authorizationError?.message;
  if (verify) return VERIFY_REASONS[verify] ? `${VERIFY_REASONS[verify]} (${verify})` : `client certificate refused (${verify})`;
  const code = err.code ?? '';
  return REASONS[code] ?? (err.reason ? `handshake failed: ${err.reason}` : `handshake failed (${code || err.message})`);
}

/** Errors raised by the TLS layer (as opposed to the HTTP parser behind it). */
export function isHandshakeError(err: NodeJS.ErrnoException): boolean {
  return (err.code ?? '').startsWith('ERR_SSL_') || (err as { library?: string }).library === 'SSL routines';
}
