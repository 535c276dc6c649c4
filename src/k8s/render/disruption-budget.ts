import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { objectMeta, type RenderContext } from './context.js';

/** Node drains and upgrades evict one proxy at a time; one always keeps serving. */
export function renderDisruptionBudget(ctx: RenderContext): PodDisruptionBudget {
  return new PodDisruptionBudget({
    metadata: objectMeta(ctx),
    spec: { minAvailable: 1, selector: { matchLabels: { ...ctx.selector } } },
  });
}
