import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import type { Config } from '../../config/schema.js';
import { EGRESS_LABEL, UI_LABEL } from '../names.js';
import { clientPorts, objectMeta, uiPorts, type RenderContext } from './context.js';

export const DNS_PORTS: INetworkPolicyPort[] = [
  { protocol: 'UDP', port: 53 },
  { protocol: 'TCP', port: 53 },
];

/** Where the proxy itself may connect: the policy's destination ports and the parent proxy. */
export function egressPorts(config: Config): number[] {
  const ports = new Set(config.policy.connectPorts);
  if (config.upstreamProxy) {
    const url = new URL(config.upstreamProxy.url);
    ports.add(Number(url.port || (url.protocol === 'https:' ? 443 : 80)));
  }
  return [...ports].sort((a, b) => a - b);
}

/** Who may reach the UI port: labelled Pods of the namespace, and the ingress controller when there is an Ingress. */
function uiPeers(ctx: RenderContext): INetworkPolicyPeer[] {
  const peers: INetworkPolicyPeer[] = [{ podSelector: { matchLabels: { [UI_LABEL]: 'true' } } }];
  const ns = ctx.options.uiIngress?.controllerNamespace;
  if (ns !== undefined) peers.push({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } });
  return peers;
}

/**
 * The proxy Pods: clients reach the proxy port only from Pods labelled as egress workloads (in
 * any namespace); the admin port (health, metrics) is open to scrapers and probes. Outbound,
 * the proxy reaches any address, but only on the ports its policy allows, plus DNS. Which
 * addresses it may reach is the proxy's own policy (the private-address guard, allow rules).
 * inspect's UI port admits only Pods of the proxy's namespace labelled egresskit.io/ui=true (and,
 * with --ui-ingress, the ingress controller's namespace);
 * `kubectl port-forward` needs no rule (the runtime connects to it from inside the Pod).
 */
export function renderProxyNetworkPolicy(ctx: RenderContext): NetworkPolicy {
  return new NetworkPolicy({
    metadata: objectMeta(ctx),
    spec: {
      podSelector: { matchLabels: { ...ctx.selector } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [{ namespaceSelector: {}, podSelector: { matchLabels: { [EGRESS_LABEL]: 'true' } } }],
          ports: clientPorts(ctx).map((p) => ({ protocol: 'TCP', port: p.port })),
        },
        ...uiPorts(ctx).map((p) => ({ from: uiPeers(ctx), ports: [{ protocol: 'TCP' as const, port: p.port }] })),
        { ports: [{ protocol: 'TCP', port: ctx.proxy.adminPort }] },
      ],
      egress: [{ ports: egressPorts(ctx.proxy.config).map((port) => ({ protocol: 'TCP', port })) }, { ports: DNS_PORTS }],
    },
  });
}
