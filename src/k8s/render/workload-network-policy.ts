import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { EGRESS_LABEL } from '../names.js';
import { clientPorts, type RenderContext } from './context.js';
import { DNS_PORTS } from './network-policy.js';

/** kube-dns and CoreDNS both carry this label in kube-system (kubeadm, kind, GKE, EKS, AKS). */
const KUBE_DNS = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};

/**
 * An example for workload namespaces: Pods labelled egresskit.io/egress=true may open
 * connections only to the proxy and to cluster DNS, so nothing goes around the proxy. Without
 * --workload-namespace it has no namespace: `kubectl apply -n TEAM -f` puts it where it applies.
 * Workloads that also call in-cluster services need extra egress rules for those.
 */
export function renderWorkloadNetworkPolicy(ctx: RenderContext): NetworkPolicy {
  const namespace = ctx.options.workloadNamespace;
  return new NetworkPolicy({
    metadata: { name: `${ctx.name}-workloads`, ...(namespace === undefined ? {} : { namespace }), labels: { ...ctx.labels } },
    spec: {
      podSelector: { matchLabels: { [EGRESS_LABEL]: 'true' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ctx.options.namespace } },
              podSelector: { matchLabels: { ...ctx.selector } },
            },
          ],
          ports: clientPorts(ctx).map((p) => ({ protocol: 'TCP', port: p.port })),
        },
        { to: [KUBE_DNS], ports: DNS_PORTS },
      ],
    },
  });
}
