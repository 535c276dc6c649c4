import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { MODE_PROFILES, type ModeProfile } from '../modes.js';
import { commonLabels, resourceName, selectorLabels, UI_PORT_NAME } from '../names.js';
import type { RenderOptions } from '../options.js';
import type { ProxyConfig } from '../proxy-config.js';

export type ObjectMeta = NonNullable<IConfigMap['metadata']>;

/** Everything the resource builders share, computed once per render. */
export interface RenderContext {
  readonly options: RenderOptions;
  readonly profile: ModeProfile;
  readonly proxy: ProxyConfig;
  /** egresskit-<mode>: the name of the Deployment, Service, ConfigMap and the rest. */
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  /** The kubernetes.io/tls Secret an mtls Pod mounts (cert-manager writes it when asked to). */
  readonly tlsSecretName: string;
  /** inspect: the Secret with the interception CA (ca.crt, ca.key), created once by the user. */
  readonly caSecretName: string;
  /** inspect --flows-db-size: the PersistentVolumeClaim holding the flows database. */
  readonly flowsClaimName: string;
}

export function renderContext(options: RenderOptions, proxy: ProxyConfig): RenderContext {
  const name = resourceName(options.mode);
  return {
    options,
    profile: MODE_PROFILES[options.mode],
    proxy,
    name,
    labels: commonLabels(options.mode),
    selector: selectorLabels(options.mode),
    tlsSecretName: `${name}-tls`,
    caSecretName: `${name}-ca`,
    flowsClaimName: `${name}-flows`,
  };
}

export function objectMeta(ctx: RenderContext, name = ctx.name): ObjectMeta {
  return { name, namespace: ctx.options.namespace, labels: { ...ctx.labels } };
}

/** The ports clients connect to, in order: the proxy port first, then any a mode adds. */
export function clientPorts(ctx: RenderContext): { name: string; port: number }[] {
  return [{ name: ctx.profile.proxyPortName, port: ctx.proxy.proxyPort }, ...ctx.profile.extraPorts];
}

/** inspect: the UI port, which only labelled Pods of the namespace and port-forward may reach; none elsewhere. */
export function uiPorts(ctx: RenderContext): { name: string; port: number }[] {
  return ctx.proxy.uiPort === undefined ? [] : [{ name: UI_PORT_NAME, port: ctx.proxy.uiPort }];
}
