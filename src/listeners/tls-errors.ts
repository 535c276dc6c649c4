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

export function tlsFailureReason(err: NodeJS.ErrnoException & { reason?: string }): string {
  const code = err.code ?? '';
  return REASONS[code] ?? (err.reason ? `handshake failed: ${err.reason}` : `handshake failed (${code || err.message})`);
}

/** Errors raised by the TLS layer (as opposed to the HTTP parser behind it). */
export function isHandshakeError(err: NodeJS.ErrnoException): boolean {
  return (err.code ?? '').startsWith('ERR_SSL_') || (err as { library?: string }).library === 'SSL routines';
}
