import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import { Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import type { IssuerKind } from '../options.js';
import { objectMeta, type RenderContext } from './context.js';

const PRIVATE_KEY = { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' } as const;

function issuerRef(ctx: RenderContext): { name: string; kind: IssuerKind; group: string } {
  const issuer = ctx.options.certManager?.issuer ?? { name: `${ctx.name}-ca`, kind: 'Issuer' as const };
  return { ...issuer, group: 'cert-manager.io' };
}

/** The names a client may use for the Service, short to fully qualified. */
export function serviceDnsNames(ctx: RenderContext): string[] {
  const ns = ctx.options.namespace;
  return [ctx.name, `${ctx.name}.${ns}`, `${ctx.name}.${ns}.svc`, `${ctx.name}.${ns}.svc.cluster.local`];
}

/**
 * Without --issuer: a self-signed root, a CA certificate from it, and a CA Issuer. The proxy's
 * Secret then carries that CA as ca.crt, which is also the CA its client certificates must chain
 * to, so server and clients come from one Issuer.
 */
function bootstrapCa(ctx: RenderContext): (Issuer | Certificate)[] {
  const selfSigned = `${ctx.name}-selfsigned`;
  const ca = `${ctx.name}-ca`;
  return [
    new Issuer({ metadata: objectMeta(ctx, selfSigned), spec: { selfSigned: {} } }),
    new Certificate({
      metadata: objectMeta(ctx, ca),
      spec: {
        isCA: true,
        commonName: 'egresskit mTLS CA',
        secretName: ca,
        duration: '87600h',
        privateKey: PRIVATE_KEY,
        issuerRef: { name: selfSigned, kind: 'Issuer', group: 'cert-manager.io' },
      },
    }),
    new Issuer({ metadata: objectMeta(ctx, ca), spec: { ca: { secretName: ca } } }),
  ];
}

export function renderCertificates(ctx: RenderContext): (Issuer | Certificate)[] {
  const ns = ctx.options.namespace;
  const client = `${ctx.name}-example-client`;
  return [
    ...(ctx.options.certManager?.issuer ? [] : bootstrapCa(ctx)),
    new Certificate({
      metadata: objectMeta(ctx),
      spec: {
        secretName: ctx.tlsSecretName,
        commonName: `${ctx.name}.${ns}.svc`,
        dnsNames: serviceDnsNames(ctx),
        usages: ['server auth', 'digital signature'],
        duration: '2160h',
        renewBefore: '360h',
        privateKey: PRIVATE_KEY,
        issuerRef: issuerRef(ctx),
      },
    }),
    // One client to copy: the proxy identifies it by its URI SAN (SPIFFE form), which policy
    // rules can name in `identities`.
    new Certificate({
      metadata: objectMeta(ctx, client),
      spec: {
        secretName: client,
        commonName: 'example-client',
        uris: [`spiffe://cluster.local/ns/${ns}/sa/example-client`],
        usages: ['client auth', 'digital signature'],
        duration: '2160h',
        renewBefore: '360h',
        privateKey: PRIVATE_KEY,
        issuerRef: issuerRef(ctx),
      },
    }),
  ];
}
