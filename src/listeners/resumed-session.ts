import type { TLSSocket } from 'node:tls';

/**
 * Whether a resumed session's client certificate has expired since the session began. OpenSSL
 * checks a client certificate on the full handshake only; a resumption takes the old verify
 * result from the ticket. A ticket lives at most SESSION_TIMEOUT_S, but short-lived workload
 * certificates (SPIFFE issues hour-long ones) can expire inside that window, so a resumed
 * session is held to its certificate's notAfter here. Full handshakes are not looked at (OpenSSL
 * did), which keeps this off the common path's cost.
 */
export function resumedWithExpiredCertificate(socket: TLSSocket, now = Date.now()): boolean {
  if (!socket.isSessionReused()) return false;
  const cert = socket.getPeerX509Certificate();
  // No certificate on a resumed mtls session cannot happen (requestCert); treat it as unusable.
  if (!cert) return true;
  const notAfter = Date.parse(cert.validTo);
  return !(notAfter > now);
}
