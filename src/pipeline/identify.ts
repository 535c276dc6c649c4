import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { parseProxyAuthorization } from '../identity/basic-auth.js';
import { identityFromCertificate } from '../identity/certificate.js';
import { ANONYMOUS, type ClientIdentity } from '../model/identity.js';
import type { ConfigVersion } from './context.js';
import { ProxyError } from '../model/errors.js';

// Verified once per TLS connection, not once per request on it.
const certIdentities = new WeakMap<TLSSocket, ClientIdentity>();

function certificateIdentity(socket: TLSSocket): ClientIdentity | undefined {
  let id = certIdentities.get(socket);
  if (!id && socket.authorized) {
    const cert = socket.getPeerCertificate();
    if (cert && Object.keys(cert).length > 0) {
      id = identityFromCertificate(cert);
      certIdentities.set(socket, id);
    }
  }
  return id;
}

/** What identify reads of a request: an IncomingMessage, or the CONNECT head the plain listener read. */
export interface IdentifySource {
  socket: Socket;
  headers: { 'proxy-authorization'?: string | undefined };
}

/**
 * Who is asking. A verified client certificate names the client; Basic credentials are checked
 * when an htpasswd file is configured (both are required when both are configured), against the
 * users of the version the pipeline read for this decision.
 */
export async function identify(req: IdentifySource, version: Pick<ConfigVersion, 'htpasswd'>): Promise<ClientIdentity> {
  const certId = req.socket instanceof TLSSocket ? certificateIdentity(req.socket) : undefined;
  const { htpasswd } = version;
  if (!htpasswd) return certId ?? ANONYMOUS;
  const creds = parseProxyAuthorization(req.headers['proxy-authorization']);
  if (creds === undefined) throw new ProxyError('auth_required');
  if (creds === 'malformed') throw new ProxyError('auth_invalid', 'malformed Proxy-Authorization header (expected Basic base64(user:password))');
  if (!(await htpasswd.verify(creds.user, creds.password))) {
    // The user name is not echoed: it may be a password typed into the wrong field.
    throw new ProxyError('auth_invalid');
  }
  if (certId) return { ...certId, attributes: { ...certId.attributes, user: creds.user } };
  return { kind: 'user', principal: creds.user, attributes: {} };
}
