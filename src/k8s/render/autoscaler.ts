import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { objectMeta, type RenderContext } from './context.js';

export const CPU_TARGET_PERCENT = 70;

export function maxReplicas(replicas: number): number {
  return Math.max(10, replicas * 3);
}

/** Tunnels cost CPU (TLS, copying), so scale on CPU, from --replicas up. */
export function renderAutoscaler(ctx: RenderContext): HorizontalPodAutoscaler {
  return new HorizontalPodAutoscaler({
    metadata: objectMeta(ctx),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: ctx.name },
      minReplicas: ctx.options.replicas,
      maxReplicas: maxReplicas(ctx.options.replicas),
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: CPU_TARGET_PERCENT } } }],
      // Removing a Pod cuts the tunnels it still holds after the drain: scale down slowly.
      behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
    },
  });
}
