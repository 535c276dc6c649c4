import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { ADMIN_PORT_NAME, CONFIG_FILE, CONFIG_HASH_ANNOTATION, CONFIG_KEY, INSPECT_CA_DIR, INSPECT_FLOWS_DIR, INSPECT_STATE_DIR, TLS_DIR } from '../names.js';
import { clientPorts, objectMeta, uiPorts, type RenderContext } from './context.js';
import { containerSecurityContext, podSecurityContext } from './security.js';

/** Time after the drain for the Pod to be removed from endpoints and for node's own exit. */
const GRACE_BEYOND_DRAIN_SECONDS = 15;

export function terminationGraceSeconds(drainMs: number): number {
  return Math.ceil(drainMs / 1000) + GRACE_BEYOND_DRAIN_SECONDS;
}

function volumes(ctx: RenderContext): { volumes: IVolume[]; mounts: IVolumeMount[] } {
  const volumes: IVolume[] = [
    { name: 'config', configMap: { name: ctx.name, items: [{ key: CONFIG_KEY, path: CONFIG_KEY }] } },
    // The root filesystem is read-only; Node and libraries that want a scratch file get /tmp.
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
  ];
  // subPath: a ConfigMap mounted over /etc/egresskit would hide (and, being read-only, break)
  // the tls mount below it. subPath files never update, hence the config hash annotation.
  const mounts: IVolumeMount[] = [
    { name: 'config', mountPath: CONFIG_FILE, subPath: CONFIG_KEY, readOnly: true },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  if (ctx.profile.tlsSecret) {
    // Mounted as a directory (not subPath) so the proxy sees Kubernetes' atomic symlink swap
    // when cert-manager renews the certificate, and reloads it.
    volumes.push({ name: 'tls', secret: { secretName: ctx.tlsSecretName, defaultMode: 0o440 } });
    mounts.push({ name: 'tls', mountPath: TLS_DIR, readOnly: true });
  }
  if (ctx.profile.inspectCa) {
    // The CA comes from a Secret the user creates once, so a restart never mints a new one
    // (workloads trust it through k8s ca-configmap). The config names the two files.
    volumes.push({
      name: 'inspect-ca',
      secret: { secretName: ctx.caSecretName, defaultMode: 0o440, items: [{ key: 'ca.crt', path: 'ca.crt' }, { key: 'ca.key', path: 'ca.key' }] },
    });
    mounts.push({ name: 'inspect-ca', mountPath: INSPECT_CA_DIR, readOnly: true });
    // inspect.caDir: the UI token is written here at each start.
    volumes.push({ name: 'state', emptyDir: { sizeLimit: '16Mi' } });
    mounts.push({ name: 'state', mountPath: INSPECT_STATE_DIR });
  }
  if (ctx.options.flowsDbSize !== undefined) {
    // inspect.flowsDb lives here, so flows survive a restart; fsGroup makes it writable.
    volumes.push({ name: 'flows', persistentVolumeClaim: { claimName: ctx.flowsClaimName } });
    mounts.push({ name: 'flows', mountPath: INSPECT_FLOWS_DIR });
  }
  return { volumes, mounts };
}

function container(ctx: RenderContext, mounts: IVolumeMount[]): IContainer {
  return {
    name: 'egresskit',
    image: ctx.options.image,
    imagePullPolicy: 'IfNotPresent',
    // The image's entrypoint is the egresskit CLI; these are its arguments.
    args: [ctx.options.mode, '--config', CONFIG_FILE, ...(ctx.profile.tlsSecret ? ['--tls-dir', TLS_DIR] : [])],
    ports: [
      ...[...clientPorts(ctx), ...uiPorts(ctx)].map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' as const })),
      { name: ADMIN_PORT_NAME, containerPort: ctx.proxy.adminPort, protocol: 'TCP' as const },
    ],
    // /readyz turns 503 as soon as SIGTERM starts the drain, so the endpoint goes before the Pod.
    readinessProbe: { httpGet: { path: '/readyz', port: ADMIN_PORT_NAME }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
    livenessProbe: { httpGet: { path: '/healthz', port: ADMIN_PORT_NAME }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    resources: {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1', memory: ctx.profile.memoryLimit },
    },
    securityContext: containerSecurityContext(),
    volumeMounts: mounts,
  };
}

export function renderDeployment(ctx: RenderContext): Deployment {
  const { volumes: podVolumes, mounts } = volumes(ctx);
  return new Deployment({
    metadata: objectMeta(ctx),
    spec: {
      // With an autoscaler the HPA owns the replica count: a replicas field here would reset it
      // on every `kubectl apply` (the Kubernetes docs' advice for HPA-managed Deployments).
      // inspect runs exactly one (its flows live in that process's memory).
      ...(ctx.profile.autoscale ? {} : { replicas: ctx.options.replicas }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: { ...ctx.selector } },
      // A ReadWriteOnce claim cannot be mounted by the new Pod while the old one (maybe on another
      // node) holds it, and the flows database admits one process at a time: replace, not roll.
      strategy: ctx.options.flowsDbSize === undefined ? { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } : { type: 'Recreate' },
      template: {
        metadata: {
          labels: { ...ctx.labels },
          annotations: {
            [CONFIG_HASH_ANNOTATION]: ctx.proxy.sha256,
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(ctx.proxy.adminPort),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          serviceAccountName: ctx.name,
          // The proxy never talks to the Kubernetes API.
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: terminationGraceSeconds(ctx.proxy.config.timeouts.drain),
          securityContext: podSecurityContext(),
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { ...ctx.selector } } } },
              ],
            },
          },
          containers: [container(ctx, mounts)],
          volumes: podVolumes,
        },
      },
    },
  });
}
