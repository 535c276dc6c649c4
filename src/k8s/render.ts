import { checkRenderOptions, type RenderOptions } from './options.js';
import { buildProxyConfig } from './proxy-config.js';
import { renderAutoscaler } from './render/autoscaler.js';
import { renderCertificates } from './render/cert-manager.js';
import { renderConfigMap } from './render/config-map.js';
import { renderContext } from './render/context.js';
import { renderDeployment } from './render/deployment.js';
import { renderDisruptionBudget } from './render/disruption-budget.js';
import { renderNamespace } from './render/namespace.js';
import { renderUiIngress } from './render/ingress.js';
import { renderFlowsClaim } from './render/persistent-volume-claim.js';
import { renderProxyNetworkPolicy } from './render/network-policy.js';
import { renderServiceAccount } from './render/service-account.js';
import { renderService } from './render/service.js';
import { renderWorkloadNetworkPolicy } from './render/workload-network-policy.js';
import { toYamlStream, type K8sObject } from './yaml-stream.js';

/** The file a rendered object goes to in a kustomize base (deploy/<mode>/...). */
export type ManifestFile =
  | 'namespace.yaml'
  | 'service-account.yaml'
  | 'config-map.yaml'
  | 'certificates.yaml'
  | 'persistent-volume-claim.yaml'
  | 'deployment.yaml'
  | 'service.yaml'
  | 'ingress.yaml'
  | 'pod-disruption-budget.yaml'
  | 'horizontal-pod-autoscaler.yaml'
  | 'network-policy.yaml'
  | 'workload-network-policy.yaml';

export interface RenderedObject {
  file: ManifestFile;
  object: K8sObject;
}

/**
 * Every object for one mode, in apply order, each checked against the Kubernetes OpenAPI
 * schema (the kubernetes-models validators), so a render that would be rejected never prints.
 */
export function renderObjects(options: RenderOptions): RenderedObject[] {
  checkRenderOptions(options);
  const ctx = renderContext(options, buildProxyConfig(options.mode, options.config, options.configSource, { flowsDb: options.flowsDbSize !== undefined, uiIngress: options.uiIngress }));
  const out: RenderedObject[] = [];
  const add = (file: ManifestFile, ...objects: K8sObject[]) => out.push(...objects.map((object) => ({ file, object })));

  if (options.createNamespace) add('namespace.yaml', renderNamespace(ctx));
  add('service-account.yaml', renderServiceAccount(ctx));
  add('config-map.yaml', renderConfigMap(ctx));
  if (ctx.profile.tlsSecret && options.certManager) add('certificates.yaml', ...renderCertificates(ctx));
  if (options.flowsDbSize !== undefined) add('persistent-volume-claim.yaml', renderFlowsClaim(ctx, options.flowsDbSize));
  add('deployment.yaml', renderDeployment(ctx));
  add('service.yaml', renderService(ctx));
  if (options.uiIngress) add('ingress.yaml', renderUiIngress(ctx, options.uiIngress));
  // One Pod cannot stay up through a drain; a PDB of minAvailable: 1 would only block the drain.
  if (!ctx.profile.singleReplica) add('pod-disruption-budget.yaml', renderDisruptionBudget(ctx));
  if (ctx.profile.autoscale) add('horizontal-pod-autoscaler.yaml', renderAutoscaler(ctx));
  add('network-policy.yaml', renderProxyNetworkPolicy(ctx));
  add('workload-network-policy.yaml', renderWorkloadNetworkPolicy(ctx));

  for (const { object } of out) {
    try {
      object.validate();
    } catch (err) {
      // A bug in egresskit (or a flag value that slipped past the checks), not in the user's input.
      throw new Error(`egresskit rendered an invalid ${object.kind} ${object.metadata?.name ?? ''}: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}

export function renderYaml(options: RenderOptions): string {
  return toYamlStream(renderObjects(options).map((r) => r.object));
}
