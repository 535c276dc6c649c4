import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { objectMeta, type RenderContext } from './context.js';

/**
 * inspect --flows-db-size: the volume the flows database lives on. ReadWriteOnce (one Pod
 * writes it) and the cluster's default StorageClass.
 */
export function renderFlowsClaim(ctx: RenderContext, size: string): PersistentVolumeClaim {
  return new PersistentVolumeClaim({
    metadata: objectMeta(ctx, ctx.flowsClaimName),
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
  });
}
